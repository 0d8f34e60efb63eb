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
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { freePort, startPgCluster, type PgCluster } from "../support/pg-cluster.js";
import { batchBody, medianOf, timeQueues } from "./batch.js";
import { runCapacity } from "./capacity.js";
import { runClusterCapacity } from "./cluster-capacity.js";
import { runLoad, type LoadResult } from "./wrk.js";
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

interface Running {
  child: ChildProcess;
  url: string;
}

async function waitFor(url: string, child: ChildProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode} before answering ${url}`);
    try {
      // Any answer below 500 means it listens and is ready (the yardstick answers 401).
      if ((await fetch(url)).status < 500) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no answer from ${url} within ${timeoutMs} ms`);
}

async function startProcess(args: string[], env: NodeJS.ProcessEnv, readyPath: string): Promise<Running> {
  const port = await freePort();
  // stdout goes to /dev/null like journald would take it: the server still formats and
  // writes every log line, so logging cost is part of the figure.
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, ...env, PORT: String(port), HOST: "127.0.0.1" },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(url + readyPath, child);
  return { child, url };
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((r) => {
    child.once("exit", () => r());
    child.kill("SIGTERM");
  });
}

/** Peak resident set size (VmHWM) of a process, in MiB. */
function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmHWM:\s+(\d+)\s+kB/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

// biome-ignore lint/suspicious/noExplicitAny: the bench reads fields off bodies whose status it checked
async function json(url: string, init: RequestInit & { json?: unknown; token?: string } = {}): Promise<any> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  const res = await fetch(url, {
    ...init,
    headers,
    body: init.json === undefined ? undefined : JSON.stringify(init.json),
  });
  if (!res.ok) throw new Error(`${init.method ?? "GET"} ${url} → ${res.status} ${await res.text()}`);
  return res.status === 204 ? undefined : res.json();
}

async function login(base: string): Promise<string> {
  const username = `bench_${randomBytes(4).toString("hex")}`;
  const password = "bench password 123";
  await json(`${base}/api/v1/users`, {
    method: "POST",
    json: { username, email: `${username}@example.com`, password },
  });
  // ACCESS_TOKEN_TTL_SECONDS=3600 (below) keeps the token valid for the whole run.
  const tokens = await json(`${base}/api/v1/auth/token`, { method: "POST", json: { username, password } });
  return tokens.access_token;
}

/** The reader: one user with exactly 20 todos (a first page of a typical list). */
async function seed(base: string): Promise<{ token: string; todoId: number }> {
  const token = await login(base);
  let todoId = 0;
  for (let i = 0; i < 20; i++) {
    const todo = await json(`${base}/api/v1/todos`, {
      method: "POST",
      token,
      json: {
        title: `Todo ${i + 1}`,
        description: "Seeded by npm run bench",
        due_date: new Date(Date.now() + i * 3_600_000).toISOString(),
      },
    });
    todoId = todo.id;
  }
  return { token, todoId };
}

/** The syncing client: 1,000 todos, created 16 at a time. */
async function seedSync(base: string): Promise<string> {
  const token = await login(base);
  for (let batch = 0; batch < 1000; batch += 16) {
    await Promise.all(
      Array.from({ length: Math.min(16, 1000 - batch) }, (_, i) =>
        json(`${base}/api/v1/todos`, {
          method: "POST",
          token,
          json: { title: `Synced ${batch + i + 1}`, description: "Seeded by npm run bench" },
        }),
      ),
    );
  }
  return token;
}

async function measure(name: string, spec: Parameters<typeof runLoad>[0]): Promise<LoadResult & { name: string }> {
  // A short warm-up lets V8 optimise the hot path and the pool fill before the measured run.
  await runLoad({ ...spec, durationSeconds: 3 });
  const result = await runLoad(spec);
  return { name, ...result };
}

/** The run with the median request rate (its own latencies, not a mix of runs). */
function median(runs: LoadResult[]): LoadResult {
  return [...runs].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond)[Math.floor(runs.length / 2)]!;
}

function range(runs: LoadResult[]): string {
  if (runs.length < 2) return "";
  const rps = runs.map((r) => r.requestsPerSecond);
  return `median of ${runs.length} runs (${Math.min(...rps).toFixed(0)}–${Math.max(...rps).toFixed(0)} req/s)`;
}

function printTable(rows: Array<LoadResult & { name: string; note?: string }>, rss: Record<string, number>): void {
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
    const dbName = `todo_bench_${randomBytes(4).toString("hex")}`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`create database ${dbName}`);
    await admin.end();
    const dbUrl = new URL(adminUrl);
    dbUrl.pathname = `/${dbName}`;

    const env = {
      NODE_ENV: "production",
      // Servers migrate as a release step (todo-release); the bench's fresh database is migrated at start.
      MIGRATE_ON_START: "true",
      DATABASE_URL: dbUrl.toString(),
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

/**
 * An offline queue of 100 creates: one batch request against 100 single requests, as wall-clock
 * time per queue (one client, sequential), and as throughput under wrk (todos created per second).
 */
async function benchBatch(
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

runMain(import.meta.url, "bench", main);
