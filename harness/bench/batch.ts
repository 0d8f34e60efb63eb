/**
 * The offline queue of 100 creates, sent as one `POST /api/v1/todos/batch` and as 100
 * `POST /api/v1/todos` one after another on one kept-alive connection (what an app replaying its
 * queue does). Wall-clock per queue, the median of `rounds`; on a mobile network each request
 * also pays a round trip, which this loopback measurement does not include.
 */
export interface QueueTimes {
  batchMs: number[];
  singlesMs: number[];
}

const QUEUE = 100;

async function post(url: string, token: string, body: unknown): Promise<void> {
  const res = await fetch(url, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  await res.arrayBuffer();
  if (res.status >= 300) throw new Error(`POST ${url} → ${res.status}`);
}

export const batchBody = (round: number) => ({
  operations: Array.from({ length: QUEUE }, (_, i) => ({
    op: "create",
    body: { title: `Queued ${round}.${i}`, description: "created offline" },
  })),
});

export async function timeQueues(base: string, token: string, rounds: number): Promise<QueueTimes> {
  const times: QueueTimes = { batchMs: [], singlesMs: [] };
  // one warm-up of each, not counted
  for (let round = -1; round < rounds; round++) {
    let start = performance.now();
    await post(`${base}/api/v1/todos/batch`, token, batchBody(round));
    const batch = performance.now() - start;
    start = performance.now();
    for (let i = 0; i < QUEUE; i++)
      await post(`${base}/api/v1/todos`, token, { title: `Queued ${round}.${i}`, description: "created offline" });
    const singles = performance.now() - start;
    if (round >= 0) {
      times.batchMs.push(batch);
      times.singlesMs.push(singles);
    }
  }
  return times;
}

export const medianOf = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
