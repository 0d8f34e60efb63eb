import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { memoryPlan } from "../../cloud-init/memory-budget.js";
import { apiNodeFlags } from "../../cloud-init/node-flags.js";
import { buildServer } from "../../release/bundle.js";
import type { Cleanup } from "../rehearse/cleanup.js";
import { ECS_2C2G, MachineCgroup } from "../support/machine-cgroup.js";
import { freePort, type PgCluster, startPgCluster } from "../support/pg-cluster.js";
import { serverRole } from "../support/process-memory.js";
import { machineMeter } from "./meters.js";
import { mixLoad } from "./mix-load.js";
import { startNginxFront } from "./nginx-front.js";
import type { SweepTarget } from "./sweep.js";

/**
 * The single-server environment the capacity bench loads: on a 2 vCPU / 2 GiB machine (cgroups,
 * machine-cgroup.ts), PostgreSQL with the memory settings the kit plans for 2 GiB and durable
 * commits (fsync on), two instances of the production bundle with the V8 flags and MemoryMax the
 * plan gives them, and Nginx with the kit's rendered site in front; its accounts seeded.
 */
export interface BenchTarget extends SweepTarget {
  url: string;
  /** What was measured, line by line, for the report. */
  notes: string[];
  /** The app's Node.js and the database in a few words, for a chart's subtitle. */
  software: string;
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

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
export function postgresProcesses(dataDir: string): number[] {
  const postmaster = Number(readFileSync(join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
  const children = readFileSync(`/proc/${postmaster}/task/${postmaster}/children`, "utf8");
  return [postmaster, ...children.trim().split(/\s+/).filter(Boolean).map(Number)];
}

/** Starts the server; what it starts is undone by `cleanup` (registered first, so even when interrupted). */
export async function startSingleServer(
  name: string,
  accounts: number,
  workDir: string,
  cleanup: Cleanup,
): Promise<BenchTarget> {
  const size = ECS_2C2G;
  const plan = memoryPlan(size.memoryMiB, { databaseMode: "local", instances: 2 });
  const children: ChildProcess[] = [];
  let cluster: PgCluster | undefined;
  let machine: MachineCgroup | undefined;
  let stopNginx: (() => Promise<void>) | undefined;
  // Everything it starts is undone once (cgroups outlive a killed process).
  cleanup.add(`${name}: Nginx, app instances, PostgreSQL, cgroups`, async () => {
    await stopNginx?.();
    await Promise.all(children.map(stopChild));
    await cluster?.destroy();
    await machine
      ?.remove()
      .catch((error: unknown) => console.error(`bench: cgroup not removed: ${(error as Error).message}`));
  });
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
  await machine.adopt(postgresProcesses(cluster.dataDir));
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
  // BENCH_NODE: another Node.js for the app (e.g. the version the servers run), for a fair A/B.
  const node = process.env.BENCH_NODE || process.execPath;
  const nodeVersion = execFileSync(node, ["--version"], { encoding: "utf8" }).trim();
  for (const [i, port] of appPorts.entries()) {
    const line = machine.wrap(node, [...apiNodeFlags(plan.appMemoryMaxMiB), bundle.server]);
    const child = spawn(line.command, line.args, {
      cwd: root,
      env: { ...env, PORT: String(port), HOST: "127.0.0.1", ...(i > 0 ? { MIGRATE_ON_START: "false" } : {}) },
      stdio: ["ignore", "ignore", "inherit"],
    });
    children.push(child);
    await waitReady(`http://127.0.0.1:${port}/readyz`, child);
  }
  const inMachine = machine;
  const front = await startNginxFront(
    { environment: "prod", databaseMode: "local", appPorts },
    await freePort(),
    (command, args) => inMachine.wrap(command, args),
  );
  stopNginx = front.stop;

  console.error(`seeding ${accounts} accounts of 20 todos through ${front.url} …`);
  const load = await mixLoad(front.url, accounts, workDir);
  const description = cluster.description;
  return {
    name,
    url: front.url,
    load,
    meter: machineMeter(inMachine, serverRole("todo-api")),
    software: `node ${nodeVersion}, ${description.replace(/ from .*/, "")}`,
    notes: [
      `server: ${inMachine.describe()}`,
      `app: Node.js ${nodeVersion} (${node}), 2 instances, MemoryMax ${plan.appMemoryMaxMiB} MiB each (${apiNodeFlags(plan.appMemoryMaxMiB).join(" ")}); ${description}, fsync on, shared_buffers ${pgPlan.sharedBuffersMiB} MB`,
    ],
  };
}
