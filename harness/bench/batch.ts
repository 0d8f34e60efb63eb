/**
 * The offline queue of 100 creates, sent as one `POST /api/v1/todos/batch` and as 100
 * `POST /api/v1/todos` one after another on one kept-alive connection (what an app replaying its
 * queue does). Wall-clock per queue, the median of `rounds`; on a mobile network each request
 * also pays a round trip, which this loopback measurement does not include.
 */
import { measure } from "./route-table.js";

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

/**
 * An offline queue of 100 creates: one batch request against 100 single requests, as wall-clock
 * time per queue (one client, sequential), and as throughput under wrk (todos created per second).
 */
export async function benchBatch(
  url: string,
  token: string,
  writer: Record<string, string>,
  base: { connections: number; threads: number; durationSeconds: number },
): Promise<void> {
  const rounds = Number(process.env.BENCH_QUEUE_ROUNDS ?? 15);
  const times = await timeQueues(url, token, rounds);
  // 8 connections: with 32, a batch of 100 queues behind 31 others past wrk's 2 s timeout.
  base = { ...base, connections: 8 };
  const batch = await measure("POST /api/v1/todos/batch (100)", {
    ...base,
    url: `${url}/api/v1/todos/batch`,
    method: "POST",
    headers: { ...writer, "content-type": "application/json" },
    body: JSON.stringify(batchBody(0)),
  });
  const single = await measure("POST /api/v1/todos", {
    ...base,
    url: `${url}/api/v1/todos`,
    method: "POST",
    headers: { ...writer, "content-type": "application/json" },
    body: JSON.stringify({ title: "Queued", description: "created offline" }),
  });
  const ms = (v: number) => `${v.toFixed(1)} ms`;
  console.log(`
offline queue of 100 creates, one client, median of ${rounds} (min–max):`);
  console.log(
    `  1 batch request     ${ms(medianOf(times.batchMs))} (${ms(Math.min(...times.batchMs))}–${ms(Math.max(...times.batchMs))})`,
  );
  console.log(
    `  100 requests        ${ms(medianOf(times.singlesMs))} (${ms(Math.min(...times.singlesMs))}–${ms(Math.max(...times.singlesMs))})`,
  );
  console.log(`under load (wrk, ${base.connections} connections, ${base.durationSeconds} s):`);
  console.log(
    `  batch: ${batch.requestsPerSecond.toFixed(1)} req/s = ${(batch.requestsPerSecond * 100).toFixed(0)} todos/s, p50 ${batch.p50Ms.toFixed(1)} ms, p99 ${batch.p99Ms.toFixed(1)} ms, errors ${batch.errors}`,
  );
  console.log(
    `  single: ${single.requestsPerSecond.toFixed(0)} req/s = todos/s, p50 ${single.p50Ms.toFixed(1)} ms, p99 ${single.p99Ms.toFixed(1)} ms, errors ${single.errors}`,
  );
}
