/**
 * `npm run bench -- --cluster`: the two-server cluster's capacity through the load balancer, for
 * the same mobile mix and the same concurrency sweep as `--nginx` (sweep.ts, mix.ts).
 *
 * The cluster is the cluster rehearsal's world (cluster-server.ts: two 2 vCPU / 2 GiB app servers
 * booted from the synthesized stack, "RDS", HAProxy standing in for the CLB); wrk runs on the host
 * and reaches the CLB's address with kept-alive connections. With `--with-single`, the one-server
 * setup of `--nginx` stands beside it and the two are swept A/B interleaved (each level: one run of
 * each, taking turns to go first), so both meet the machine's noise alike, and the chart shows
 * both. Everything shares this host's cores: read the CPU columns, not req/s alone.
 *
 *   sudo flock /tmp/rehearsal.lock npm run bench -- --cluster
 *   sudo flock /tmp/rehearsal.lock npm run bench -- --cluster --with-single
 *   BENCH_ROUNDS, BENCH_DURATION, BENCH_LEVELS as for --nginx
 *   BENCH_CHART=docs/img/capacity-cluster.svg     # where the chart goes (default: dist/bench/)
 *   BENCH_NODE=/path/to/node                      # the one server's Node.js (default: this one's);
 *                                                 # the servers run the kit's pinned major
 *
 * Needs root and what the cluster rehearsal needs (HAProxy, Terraform, nspawn, the image cache),
 * wrk, nginx and PostgreSQL. Asserts nothing; never runs in CI.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { capacitySentence, cpuByRoleTable, levelsOf, markdownTable } from "./capacity-table.js";
import { benchCleanup, P99_LIMIT_MS, progressLine } from "./capacity.js";
import { capacityChart } from "./chart.js";
import { clusterCapacitySentence, clusterMarkdownTable, cpuSentence, cpuSplitTable } from "./cluster-table.js";
import { startClusterServers } from "./cluster-server.js";
import { describeMix } from "./mix.js";
import { WRK_THREADS } from "./mix-load.js";
import { type BenchTarget, startSingleServer } from "./single-server.js";
import { sweep, sweepSettings } from "./sweep.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const CLUSTER = "two servers";
const SINGLE = "one server";

export async function runClusterCapacity(argv: string[]): Promise<number> {
  const settings = sweepSettings(process.env);
  const withSingle = argv.includes("--with-single");
  const accountCount = Math.max(...settings.levels);
  const chartPath = resolve(root, process.env.BENCH_CHART ?? "dist/bench/capacity-cluster.svg");
  const work = mkdtempSync(join(tmpdir(), "bench-cluster-"));
  const cleanup = benchCleanup();
  cleanup.add("work directory", () => rmSync(work, { recursive: true, force: true }));
  try {
    const targets: BenchTarget[] = [await startClusterServers(CLUSTER, accountCount, work, cleanup)];
    if (withSingle) targets.push(await startSingleServer(SINGLE, accountCount, work, cleanup));
    const { levels, rounds, duration } = settings;
    console.error(
      `warming up, then ${rounds} rounds over ${levels.join(", ")} connections, ${duration} s each, of ${targets.map((t) => t.name).join(" and ")} …`,
    );
    for (const target of targets) await target.load(Math.min(16, accountCount), 5);
    const { runs, loads } = await sweep(targets, settings, (target, round, run) =>
      console.error(progressLine(target, round, run)),
    );
    const cluster = levelsOf(runs[CLUSTER]!);
    const single = withSingle ? levelsOf(runs[SINGLE]!) : undefined;
    mkdirSync(dirname(chartPath), { recursive: true });
    writeFileSync(
      chartPath,
      capacityChart(cluster, {
        title: `Two servers (2 vCPU / 2 GiB each) behind the load balancer${single ? ", and one server" : ""}: mobile mix`,
        subtitle: `median of ${rounds} rounds, ${duration} s per level; all on one ${availableParallelism()}-core host; ${[...new Set(targets.map((t) => t.software.split(",")[0]))].join(" / ")}`,
        p99LimitMs: P99_LIMIT_MS,
        ...(single
          ? {
              label: "two servers, HAProxy as the CLB, RDS",
              compare: { label: "one server through Nginx (interleaved)", levels: single },
            }
          : {}),
      }),
    );
    console.log(`\nmix: ${describeMix()}; ${accountCount} accounts of 20 todos, a random one per request`);
    for (const target of targets) for (const note of target.notes) console.log(`${target.name}: ${note}`);
    console.log(`wrk: ${WRK_THREADS} threads, kept-alive connections, on the same host`);
    console.log(
      `host load average (1 min) after the runs: ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} on ${availableParallelism()} CPUs\n`,
    );
    console.log(`${CLUSTER}:\n${clusterMarkdownTable(cluster)}`);
    console.log(`\ncapacity, ${CLUSTER}: ${clusterCapacitySentence(cluster, P99_LIMIT_MS)}`);
    console.log(`CPU, ${CLUSTER}: ${cpuSentence(cluster)}`);
    console.log(`\nwhere the CPU went, ${CLUSTER} (cores, medians):\n${cpuSplitTable(cluster)}`);
    if (single) {
      console.log(`\n${SINGLE} (interleaved with the above):\n${markdownTable(single)}`);
      console.log(`\ncapacity, ${SINGLE}: ${capacitySentence(single, P99_LIMIT_MS)}`);
      console.log(
        `\nwhere the CPU went, ${SINGLE} (cores, medians):\n${cpuByRoleTable(single, ["app instances", "PostgreSQL", "Nginx"])}`,
      );
    }
    const runsPath = `${chartPath.replace(/\.svg$/, "")}.runs.json`;
    writeFileSync(runsPath, `${JSON.stringify({ rounds, duration, loads, runs }, null, 1)}\n`);
    console.log(`chart: ${chartPath}; the runs: ${runsPath}`);
    return 0;
  } finally {
    await cleanup.runAll();
  }
}
