/**
 * `npm run bench -- --nginx`: one server's capacity, through Nginx, for a mobile app's mix.
 *
 * The server is what a single-server environment runs, on a 2 vCPU / 2 GiB machine: PostgreSQL
 * with the memory settings the kit plans for 2 GiB and durable commits (fsync on), two instances of
 * the production bundle with the V8 flags and MemoryMax the plan gives them, and Nginx with the
 * kit's rendered site in front. All of them run inside cgroups with a 2 GiB memory limit and a
 * 2-CPU quota (machine-cgroup.ts, the same limits as the rehearsal's container); wrk, the clients,
 * runs outside them. The mix (mix.ts) comes from many accounts at rising concurrency; every round
 * sweeps all levels (alternately rising and falling, so drift over time does not favour one end),
 * and each level reports the median of its rounds with the lowest and highest.
 *
 *   npm run bench -- --nginx                     # 3 rounds, 10 s per level
 *   BENCH_DURATION=20 BENCH_ROUNDS=5 npm run bench -- --nginx
 *   BENCH_LEVELS=1,2,4,8,16,32,64,128,256        # the concurrency levels
 *   BENCH_CHART=docs/img/capacity-single.svg     # where the chart goes (default: dist/bench/)
 *
 * Needs root (cgroups), wrk, nginx and PostgreSQL. Asserts nothing; never runs in CI.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { memoryPlan } from "../../cloud-init/memory-budget.js";
import { apiNodeFlags } from "../../cloud-init/node-flags.js";
import { buildServer } from "../../release/bundle.js";
import { ECS_2C2G, MachineCgroup } from "../support/machine-cgroup.js";
import { freePort, type PgCluster, startPgCluster } from "../support/pg-cluster.js";
import { memoryByRole, PeakMemory, serverRole } from "../support/process-memory.js";
import { capacitySentence, type LevelRun, levelsOf, markdownTable } from "./capacity-table.js";
import { capacityChart } from "./chart.js";
import { describeMix, type MixAccount, mixLua, writeMixAccounts } from "./mix.js";
import { startNginxFront } from "./nginx-front.js";
import { seedMixAccounts } from "./mix-seed.js";
import { runLoad } from "./wrk.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const P99_LIMIT_MS = 100;
const THREADS = 2;

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => {
    child.once("exit", () => r());
    child.kill("SIGTERM");
  });
}

async function waitReady(url: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`the app exited with ${child.exitCode} before ${url} answered`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no answer from ${url} within 30 s`);
}

/** The postmaster and the processes it started (checkpointer, WAL writer, …). */
function postgresProcesses(cluster: PgCluster): number[] {
  const postmaster = Number(readFileSync(join(cluster.dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
  const children = readFileSync(`/proc/${postmaster}/task/${postmaster}/children`, "utf8");
  return [postmaster, ...children.trim().split(/\s+/).filter(Boolean).map(Number)];
}

export async function runCapacity(): Promise<number> {
  const duration = Number(process.env.BENCH_DURATION ?? 10);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const levels = (process.env.BENCH_LEVELS ?? "1,2,4,8,16,32,64,128").split(",").map(Number);
  if (levels.some((c) => !Number.isInteger(c) || c < 1))
    throw new Error("BENCH_LEVELS: whole numbers from 1, e.g. 1,2,4,8");
  const accountCount = Math.max(...levels);
  const chartPath = resolve(root, process.env.BENCH_CHART ?? "dist/bench/capacity-single.svg");
  const size = ECS_2C2G;
  const plan = memoryPlan(size.memoryMiB, { databaseMode: "local", instances: 2 });
  const children: ChildProcess[] = [];
  const work = mkdtempSync(join(tmpdir(), "bench-capacity-"));
  let cluster: PgCluster | undefined;
  let machine: MachineCgroup | undefined;
  let stopNginx: (() => Promise<void>) | undefined;
  // Everything the run starts is undone once, at the end or on Ctrl-C (cgroups outlive a killed process).
  let cleaned: Promise<void> | undefined;
  const cleanup = () =>
    (cleaned ??= (async () => {
      await stopNginx?.();
      await Promise.all(children.map(stopChild));
      await cluster?.destroy();
      await machine
        ?.remove()
        .catch((error: unknown) => console.error(`bench: cgroup not removed: ${(error as Error).message}`));
      rmSync(work, { recursive: true, force: true });
    })());
  const interrupted = () => void cleanup().then(() => process.exit(130));
  process.once("SIGINT", interrupted);
  try {
    console.error("building dist/server.mjs …");
    const bundle = await buildServer();
    machine = await MachineCgroup.create(`todo-bench-${randomBytes(4).toString("hex")}`, size);
    console.error(`the server: ${machine.describe()}`);

    // PostgreSQL as todo-setup configures it for this plan, with durable commits.
    const pgPlan = plan.postgres!;
    cluster = await startPgCluster(undefined, {
      settings: [
        "fsync=on",
        "synchronous_commit=on",
        "full_page_writes=on",
        `shared_buffers=${pgPlan.sharedBuffersMiB}MB`,
        `effective_cache_size=${pgPlan.effectiveCacheMiB}MB`,
        `maintenance_work_mem=${pgPlan.maintenanceWorkMemMiB}MB`,
      ],
    });
    await machine.adopt(postgresProcesses(cluster));
    const dbName = `todo_capacity_${randomBytes(4).toString("hex")}`;
    const admin = new pg.Client({ connectionString: cluster.url });
    await admin.connect();
    await admin.query(`create database ${dbName}`);
    await admin.end();
    const dbUrl = new URL(cluster.url);
    dbUrl.pathname = `/${dbName}`;

    const appPorts = [await freePort(), await freePort()];
    const env = {
      ...process.env,
      NODE_ENV: "production",
      MIGRATE_ON_START: "true",
      DATABASE_URL: dbUrl.toString(),
      JWT_SECRET: randomBytes(48).toString("base64"),
      JWT_ISSUER: "todo-api",
      JWT_AUDIENCE: "todo-api-clients",
      ACCESS_TOKEN_TTL_SECONDS: "3600",
      LOG_LEVEL: "info",
      TRUSTED_PROXIES: "127.0.0.1",
      // Seeding registers and logs in every account from one address: lift the per-address
      // limits of those routes. The mix itself never calls them; the per-account limits stay
      // at production's defaults.
      RATE_LIMIT_PER_MINUTE: "100000",
      PASSWORD_RATE_LIMIT_PER_MINUTE: "100000",
    };
    for (const [i, port] of appPorts.entries()) {
      const line = machine.wrap(process.execPath, [...apiNodeFlags(plan.appMemoryMaxMiB), bundle.server]);
      const child = spawn(line.command, line.args, {
        cwd: root,
        env: { ...env, PORT: String(port), HOST: "127.0.0.1", ...(i > 0 ? { MIGRATE_ON_START: "false" } : {}) },
        stdio: ["ignore", "ignore", "inherit"],
      });
      children.push(child);
      await waitReady(`http://127.0.0.1:${port}/readyz`, child);
    }
    const front = await startNginxFront(
      { environment: "prod", databaseMode: "local", appPorts },
      await freePort(),
      (command, args) => machine!.wrap(command, args),
    );
    stopNginx = front.stop;

    console.error(`seeding ${accountCount} accounts of 20 todos through ${front.url} …`);
    const accounts: MixAccount[] = await seedMixAccounts(front.url, accountCount);
    const accountsFile = join(work, "accounts.txt");
    writeMixAccounts(accountsFile, accounts);
    const lua = mixLua();
    const load = (connections: number, seconds: number) =>
      runLoad({
        url: front.url,
        connections,
        threads: Math.min(THREADS, connections),
        durationSeconds: seconds,
        lua,
        env: { BENCH_MIX_ACCOUNTS: accountsFile },
      });

    console.error(`warming up, then ${rounds} rounds over ${levels.join(", ")} connections, ${duration} s each …`);
    await load(Math.min(16, accountCount), 5);
    const runs: LevelRun[] = [];
    // The host's 1-minute load average after each run: the figures are only as quiet as the machine.
    const loads: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? levels : [...levels].reverse();
      for (const connections of order) {
        const peak = new PeakMemory();
        let sampling = true;
        const sampler = (async () => {
          while (sampling) {
            peak.add(await memoryByRole(await machine!.pids(), serverRole("todo-api")));
            await new Promise((r) => setTimeout(r, 500));
          }
        })();
        const cpuBefore = await machine.cpuSeconds();
        const result = await load(connections, duration).finally(() => {
          sampling = false;
        });
        const cpuSeconds = (await machine.cpuSeconds()) - cpuBefore;
        await sampler;
        const cpuCores = cpuSeconds / (result.requests / result.requestsPerSecond);
        runs.push({ ...result, connections, memory: { ...peak.peak }, cpuCores });
        loads.push(Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]));
        console.error(
          `  round ${round + 1}, ${connections} connections: ${result.requestsPerSecond.toFixed(0)} req/s, p99 ${result.p99Ms.toFixed(1)} ms, ${result.errors} errors (${result.timeouts ?? 0} timeouts), server CPU ${cpuCores.toFixed(2)} cores, memory ${peak.format()}`,
        );
      }
    }
    const table = levelsOf(runs);
    const cgroupNow = await machine.unreclaimableBytes();
    mkdirSync(dirname(chartPath), { recursive: true });
    writeFileSync(
      chartPath,
      capacityChart(table, {
        title: "One server (2 vCPU / 2 GiB) through Nginx: mobile mix",
        subtitle: `median of ${rounds} rounds, ${duration} s per level; node ${process.version}, ${cluster.description.replace(/ from .*/, "")}`,
        p99LimitMs: P99_LIMIT_MS,
      }),
    );
    console.log(`\nmix: ${describeMix()}; ${accountCount} accounts of 20 todos, a random one per request`);
    console.log(`server: ${machine.describe()}`);
    console.log(
      `app: 2 instances, MemoryMax ${plan.appMemoryMaxMiB} MiB each (${apiNodeFlags(plan.appMemoryMaxMiB).join(" ")}); ${cluster.description}, fsync on, shared_buffers ${pgPlan.sharedBuffersMiB} MB`,
    );
    console.log(`wrk: ${THREADS} threads, outside the server's cgroups, on the same host`);
    console.log(
      `host load average (1 min) after the runs: ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} on ${availableParallelism()} CPUs\n`,
    );
    console.log(markdownTable(table));
    console.log(`\ncapacity: ${capacitySentence(table, P99_LIMIT_MS)}`);
    console.log(`the server's cgroup at the end: ${(cgroupNow / 1024 ** 2).toFixed(0)} MiB anonymous + shared`);
    // Every run as measured, for another look without measuring again.
    const runsPath = `${chartPath.replace(/\.svg$/, "")}.runs.json`;
    writeFileSync(runsPath, `${JSON.stringify({ rounds, duration, loads, runs }, null, 1)}\n`);
    console.log(`chart: ${chartPath}; the runs: ${runsPath}`);
    return 0;
  } finally {
    process.off("SIGINT", interrupted);
    await cleanup();
  }
}
