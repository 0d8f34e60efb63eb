/** One wrk run per route (after a warm-up), the median of repeated runs, and the printed table. */
import { runLoad, type LoadResult } from "./wrk.js";

export async function measure(
  name: string,
  spec: Parameters<typeof runLoad>[0],
): Promise<LoadResult & { name: string }> {
  // A short warm-up lets V8 optimise the hot path and the pool fill before the measured run.
  await runLoad({ ...spec, durationSeconds: 3 });
  const result = await runLoad(spec);
  return { name, ...result };
}

/** The run with the median request rate (its own latencies, not a mix of runs). */
export function median(runs: LoadResult[]): LoadResult {
  return [...runs].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond)[Math.floor(runs.length / 2)]!;
}

export function range(runs: LoadResult[]): string {
  if (runs.length < 2) return "";
  const rps = runs.map((r) => r.requestsPerSecond);
  return `median of ${runs.length} runs (${Math.min(...rps).toFixed(0)}–${Math.max(...rps).toFixed(0)} req/s)`;
}

export function printTable(
  rows: Array<LoadResult & { name: string; note?: string }>,
  rss: Record<string, number>,
): void {
  const pad = (s: string, n: number) => s.padEnd(n);
  const num = (v: number, d = 0) => v.toFixed(d).padStart(9);
  console.log(
    `\n${pad("route", 34)}${"req/s".padStart(9)}${"p50 ms".padStart(9)}${"p99 ms".padStart(9)}${"errors".padStart(9)}`,
  );
  for (const r of rows)
    console.log(
      `${pad(r.name, 34)}${num(r.requestsPerSecond)}${num(r.p50Ms, 2)}${num(r.p99Ms, 2)}${num(r.errors)}  ${r.note ?? ""}`.trimEnd(),
    );
  for (const [who, mib] of Object.entries(rss)) console.log(`peak RSS ${who}: ${mib.toFixed(1)} MiB`);
}
