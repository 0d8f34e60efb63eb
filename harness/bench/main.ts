/**
 * `npm run bench`: builds the production bundle, starts it with plain `node` on a real
 * PostgreSQL, seeds one user with 20 todos (and a syncing user with 1,000), and loads four routes
 * from a second process (wrk, 32 connections). Prints requests/s, p50/p99 latency and the server's peak RSS.
 *
 *   npm run bench                      # throw-away PostgreSQL cluster, 10 s per route
 *   npm run bench -- --baseline        # also measure the bare node:http yardstick
 *   BENCH_DATABASE_URL=postgres://...  # use an existing server (superuser; creates a database)
 *   BENCH_DURATION=30                  # seconds per route
 *   BENCH_ROUNDS=5                     # list/yardstick rounds (default 3; the median is shown)
 *   npm run bench -- --batch-only      # only the offline queue: 100 creates in one batch vs 100 requests
 *   npm run bench -- --nginx           # capacity: a mobile mix through Nginx on a 2 vCPU / 2 GiB server (capacity.ts)
 *   npm run bench -- --cluster         # the same through the load balancer to two servers (cluster-capacity.ts)
 *
 * A benchmark, not a test: it asserts nothing and never runs in CI.
 */
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startPgCluster, type PgCluster } from "../support/pg-cluster.js";
import { createBenchDatabase, peakRssMiB, type Running, startProcess, stop } from "./api-process.js";
import { benchBatch } from "./batch.js";
import { runCapacity } from "./capacity.js";
import { runClusterCapacity } from "./cluster-capacity.js";
import { login, seed, seedSync } from "./route-accounts.js";
import { measure, median, printTable, range } from "./route-table.js";
import type { LoadResult } from "./wrk.js";
import { buildServer } from "../../release/bundle.js";
import { apiNodeFlags, DEFAULT_APP_MEMORY_MAX_MIB } from "../../cloud-init/node-flags.js";
import { runMain } from "../../scripts/lib/main.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const duration = Number(process.env.BENCH_DURATION ?? 10);
const withBaseline = process.argv.includes("--baseline");
const batchOnly = process.argv.includes("--batch-only");
const SERVER_FLAGS = apiNodeFlags(DEFAULT_APP_MEMORY_MAX_MIB);
const CONNECTIONS = 32;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const THREADS = 2;
const JWT = { secret: randomBytes(48).toString("base64"), issuer: "todo-api", audience: "todo-api-clients" };

async function main(): Promise<number> {
  if (process.argv.includes("--nginx")) return runCapacity();
  if (process.argv.includes("--cluster")) return runClusterCapacity(process.argv);
  let cluster: PgCluster | undefined;
  const children: ChildProcess[] = [];
  const cleanup = async () => {
    await Promise.all(children.map(stop));
    await cluster?.destroy();
  };
  process.once("SIGINT", () => void cleanup().then(() => process.exit(130)));
  try {
    console.error("building dist/server.mjs …");
    const bundle = await buildServer();

    let adminUrl = process.env.BENCH_DATABASE_URL;
    if (!adminUrl) {
      console.error("starting a throw-away PostgreSQL cluster …");
      cluster = await startPgCluster();
      adminUrl = cluster.url;
    }
    const databaseUrl = await createBenchDatabase(adminUrl);

    const env = {
      NODE_ENV: "production",
      // Servers migrate as a release step (todo-release); the bench's fresh database is migrated at start.
      MIGRATE_ON_START: "true",
      DATABASE_URL: databaseUrl,
      JWT_SECRET: JWT.secret,
      JWT_ISSUER: JWT.issuer,
      JWT_AUDIENCE: JWT.audience,
      ACCESS_TOKEN_TTL_SECONDS: "3600",
      LOG_LEVEL: "info",
      // Each route's load comes from one account standing in for many users: lift that account's
      // share of the process (bench:accounts measures the share itself).
      ACCOUNT_MAX_IN_FLIGHT: String(CONNECTIONS),
      ACCOUNT_RATE_LIMIT_PER_MINUTE: "1000000",
    };
    // The V8 flags production runs with (app@.service), so the figures are production's.
    const api = await startProcess([...SERVER_FLAGS, bundle.server], env, "/readyz");
    children.push(api.child);
    const { token, todoId } = await seed(api.url);
    const auth = { authorization: `Bearer ${token}` };
    // The writer is another user, so the thousands of todos it creates never change what the
    // reader's list has to count.
    const writer = { authorization: `Bearer ${await login(api.url)}` };
    if (batchOnly) {
      await benchBatch(api.url, await login(api.url), writer, {
        connections: CONNECTIONS,
        threads: THREADS,
        durationSeconds: duration,
      });
      return 0;
    }
    const syncer = { authorization: `Bearer ${await seedSync(api.url)}` };
    const base = { connections: CONNECTIONS, threads: THREADS, durationSeconds: duration };
    console.error(`loading ${api.url} with wrk (${CONNECTIONS} connections, ${duration} s per route) …`);

    const listSpec = { ...base, url: `${api.url}/api/v1/todos?limit=20`, headers: auth };
    let baseline: Running | undefined;
    if (withBaseline) {
      baseline = await startProcess(["--import", "tsx", join(root, "harness/bench/baseline-server.ts")], env, "/");
      children.push(baseline.child);
    }
    // The list and the yardstick take turns, ROUNDS times each, and the median run of each is
    // reported: on a shared machine a single run of each, minutes apart, can differ 2x by noise.
    const listRuns: LoadResult[] = [];
    const baselineRuns: LoadResult[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      listRuns.push(await measure("list", listSpec));
      // The yardstick has no /readyz; "/" answers 401, which is enough to know it listens.
      if (baseline) baselineRuns.push(await measure("baseline", { ...base, url: `${baseline.url}/`, headers: auth }));
    }
    const rows = [
      { ...median(listRuns), name: "GET /api/v1/todos?limit=20", note: range(listRuns) },
      await measure("GET /api/v1/todos/{id}", { ...base, url: `${api.url}/api/v1/todos/${todoId}`, headers: auth }),
      // A client with 1,000 todos pulling one page (the default 100) of its changes.
      await measure("GET /api/v1/todos/changes (1k)", {
        ...base,
        url: `${api.url}/api/v1/todos/changes`,
        headers: syncer,
      }),
      await measure("POST /api/v1/todos", {
        ...base,
        url: `${api.url}/api/v1/todos`,
        method: "POST",
        headers: { ...writer, "content-type": "application/json" },
        body: JSON.stringify({ title: "Benchmark todo", description: "created under load" }),
      }),
    ];
    await benchBatch(api.url, await login(api.url), writer, base);
    const rss: Record<string, number> = { "API (dist/server.mjs)": peakRssMiB(api.child.pid!) };
    if (baseline) {
      rows.push({ ...median(baselineRuns), name: "baseline node:http list", note: range(baselineRuns) });
      rss.baseline = peakRssMiB(baseline.child.pid!);
    }

    printTable(rows, rss);
    const list = rows[0]!;
    console.log(
      `\nnode ${process.version} ${SERVER_FLAGS.join(" ")}, ${THREADS} wrk threads on the same 2 cores; PostgreSQL ${cluster ? "throw-away cluster (fsync off)" : "from BENCH_DATABASE_URL"}`,
    );
    if (withBaseline) {
      const ratio = list.requestsPerSecond / rows[rows.length - 1]!.requestsPerSecond;
      console.log(`list route at ${(ratio * 100).toFixed(0)}% of the bare node:http yardstick (target ≥ 60%)`);
    }
  } finally {
    await cleanup();
  }
  return 0;
}

runMain(import.meta.url, "bench", main);
