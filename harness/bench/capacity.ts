/**
 * `npm run bench -- --nginx`: one server's capacity, through Nginx, for a mobile app's mix.
 *
 * The server is what a single-server environment runs, on a 2 vCPU / 2 GiB machine
 * (single-server.ts); wrk, the clients, runs outside its cgroups. The mix (mix.ts) comes from many
 * accounts at rising concurrency; every round sweeps all levels (sweep.ts: alternately rising and
 * falling, so drift over time does not favour one end), and each level reports the median of its
 * rounds with the lowest and highest.
 *
 *   npm run bench -- --nginx                     # 3 rounds, 10 s per level
 *   BENCH_DURATION=20 BENCH_ROUNDS=5 npm run bench -- --nginx
 *   BENCH_LEVELS=1,2,4,8,16,32,64,128,256        # the concurrency levels
 *   BENCH_CHART=docs/img/capacity-single.svg     # where the chart goes (default: dist/bench/)
 *
 * Needs root (cgroups), wrk, nginx and PostgreSQL. Asserts nothing; never runs in CI.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { capacitySentence, levelsOf, markdownTable } from "./capacity-table.js";
import { capacityChart } from "./chart.js";
import { describeMix } from "./mix.js";
import { WRK_THREADS } from "./mix-load.js";
import { Cleanup } from "../rehearse/cleanup.js";
import { startSingleServer } from "./single-server.js";
import { sweep, sweepSettings } from "./sweep.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const P99_LIMIT_MS = 100;

/** One run's line on stderr while the sweep goes. */
export function progressLine(target: string, round: number, run: import("./capacity-table.js").LevelRun): string {
  const mib = (b: number | undefined) => `${((b ?? 0) / 1024 ** 2).toFixed(0)} MiB`;
  return `  ${target}, round ${round + 1}, ${run.connections} connections: ${run.requestsPerSecond.toFixed(0)} req/s, p99 ${run.p99Ms.toFixed(1)} ms, ${run.errors} errors (${run.timeouts ?? 0} timeouts), CPU ${run.cpuCores.toFixed(2)} cores, memory ${mib(run.memory.total)}${run.host ? `; host busy ${run.host.busyCores.toFixed(2)} cores, wrk ${run.host.wrkCores.toFixed(2)}` : ""}`;
}

/**
 * Undoes what a run starts once, at the end or on Ctrl-C / SIGTERM (cgroups, containers and
 * namespaces outlive a killed process). A Ctrl-C reaches the bench twice, from the terminal and
 * relayed by tsx, and tsx ends a process that no longer listens for the signal: a lasting no-op
 * listener keeps the second from cutting the cleanup short.
 */
export function benchCleanup(): Cleanup {
  const cleanup = new Cleanup();
  cleanup.installSignalHandlers();
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => undefined);
  return cleanup;
}

export async function runCapacity(): Promise<number> {
  const settings = sweepSettings(process.env);
  const accountCount = Math.max(...settings.levels);
  const chartPath = resolve(root, process.env.BENCH_CHART ?? "dist/bench/capacity-single.svg");
  const work = mkdtempSync(join(tmpdir(), "bench-capacity-"));
  const cleanup = benchCleanup();
  cleanup.add("work directory", () => rmSync(work, { recursive: true, force: true }));
  try {
    const server = await startSingleServer("one server", accountCount, work, cleanup);
    const { levels, rounds, duration } = settings;
    console.error(`warming up, then ${rounds} rounds over ${levels.join(", ")} connections, ${duration} s each …`);
    await server.load(Math.min(16, accountCount), 5);
    const { runs, loads } = await sweep([server], settings, (target, round, run) =>
      console.error(progressLine(target, round, run)),
    );
    const table = levelsOf(runs[server.name]!);
    mkdirSync(dirname(chartPath), { recursive: true });
    writeFileSync(
      chartPath,
      capacityChart(table, {
        title: "One server (2 vCPU / 2 GiB) through Nginx: mobile mix",
        subtitle: `median of ${rounds} rounds, ${duration} s per level; ${server.software}`,
        p99LimitMs: P99_LIMIT_MS,
      }),
    );
    console.log(`\nmix: ${describeMix()}; ${accountCount} accounts of 20 todos, a random one per request`);
    for (const note of server.notes) console.log(note);
    console.log(`wrk: ${WRK_THREADS} threads, outside the server's cgroups, on the same host`);
    console.log(
      `host load average (1 min) after the runs: ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} on ${availableParallelism()} CPUs\n`,
    );
    console.log(markdownTable(table));
    console.log(`\ncapacity: ${capacitySentence(table, P99_LIMIT_MS)}`);
    // Every run as measured, for another look without measuring again.
    const runsPath = `${chartPath.replace(/\.svg$/, "")}.runs.json`;
    writeFileSync(runsPath, `${JSON.stringify({ rounds, duration, loads, runs: runs[server.name] }, null, 1)}\n`);
    console.log(`chart: ${chartPath}; the runs: ${runsPath}`);
    return 0;
  } finally {
    await cleanup.runAll();
  }
}
