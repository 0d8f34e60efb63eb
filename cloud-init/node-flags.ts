/**
 * The V8 settings the API process runs with, on the server (app@.service) and in `npm run bench`
 * and `npm run start:prod`, so the benchmark measures what production runs.
 *
 * Measured with the list route under 32 connections (docs/app.md, "Performance"):
 * - `--no-allocation-site-pretenuring`: V8 saw the rows of in-flight queries survive a young
 *   collection and began allocating row objects, their strings and Dates straight in the old
 *   generation. That promoted about 1 MiB of soon-dead data per young collection, grew the old
 *   generation to ~90 MiB between full collections and made young collections slower. Off: the
 *   old generation stays flat, peak RSS drops by 20–40 MiB, CPU per request drops.
 * - `--max-semi-space-size=16`: the young generation at 2 × 16 MiB (Node 24 otherwise grows it to
 *   2 × 32 MiB or more). The size trades RSS for latency: with 8 MiB a young collection came
 *   every ~25 ms at 3,000 req/s, so requests still in flight survived two and were promoted;
 *   32 MiB gave the best p99 but ~160 MiB peak RSS. 16 MiB: ~130 MiB on Node 20, p99 near 32's.
 * - `--max-old-space-size`: keeps V8's heap inside the unit's MemoryMax (leaving 128 MiB for code,
 *   the young generation and buffers), so V8 collects harder before the kernel would kill the
 *   process; it also makes V8 grow the heap less eagerly.
 *
 * Only flags both Node 20 and Node 24 accept. They cannot go into NODE_OPTIONS
 * (`--no-allocation-site-pretenuring` is not allowed there), so they are command-line flags.
 */
export function apiNodeFlags(memoryMaxMiB: number): string[] {
  return [
    "--no-allocation-site-pretenuring",
    "--max-semi-space-size=16",
    `--max-old-space-size=${Math.max(96, memoryMaxMiB - 128)}`,
  ];
}

/**
 * The MemoryMax `npm run bench` and `npm run start:prod` run with: what the server's memory plan
 * gives each app instance on a 2 GiB server (memory-budget.ts; servers derive theirs at deploy).
 */
export const DEFAULT_APP_MEMORY_MAX_MIB = 512;
