/**
 * `npm run bench:accounts`: what a page costs as an account grows, and what one busy account does
 * to a quiet one. The production bundle on a throw-away PostgreSQL cluster; one server process.
 *
 *   npm run bench:accounts                           # this checkout
 *   npm run bench:accounts -- --compare <dist dir>   # also another build (its server.mjs and
 *                                                    # migrate.mjs), interleaved round by round
 *   BENCH_DURATION=8  BENCH_ROUNDS=2                 # seconds per load, rounds per build
 *
 * Scenarios, per build and round:
 * - `GET /todos?limit=20` under wrk -c32 for an account with 3, 10,000 and 100,000 todos;
 * - a quiet account (3 todos) listing every 50 ms while another account sends nothing, 32 parallel
 *   lists (the 10k account) or 32 parallel mixed requests (40 % list, 30 % create, 20 % update,
 *   10 % sync): the quiet account's p50/p99, and how the busy one's requests ended.
 *
 * A benchmark, not a test: it asserts nothing and never runs in CI.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join, resolve } from "node:path";
import pg from "pg";
import { apiNodeFlags, DEFAULT_APP_MEMORY_MAX_MIB } from "../../cloud-init/node-flags.js";
import { buildServer } from "../../release/bundle.js";
import { runMain } from "../../scripts/lib/main.js";
import { type PgCluster, startPgCluster } from "../support/pg-cluster.js";
import { createBenchDatabase, peakRssMiB, type Running, startProcess, stop } from "./api-process.js";
import { type LoadResult, runLoad } from "./wrk.js";

const DURATION = Number(process.env.BENCH_DURATION ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const JWT_SECRET = randomBytes(48).toString("base64");
const SIZES = [3, 10_000, 100_000] as const;

interface Build {
  name: string;
  server: string;
  migrate: string;
  databaseUrl?: string;
  accounts?: Record<string, Account>;
}
interface Account {
  id: number;
  token: string;
}

async function main(argv: string[]): Promise<number> {
  const at = argv.indexOf("--compare");
  const other = at >= 0 ? argv[at + 1] : undefined;
  if (at >= 0 && !other) {
    console.error("usage: npm run bench:accounts [-- --compare <dist dir with server.mjs and migrate.mjs>]");
    return 2;
  }
  const built = await buildServer();
  const builds: Build[] = [{ name: "this checkout", ...built }];
  if (other) {
    const dir = resolve(other);
    builds.push({ name: dir, server: join(dir, "server.mjs"), migrate: join(dir, "migrate.mjs") });
  }
  let cluster: PgCluster | undefined;
  try {
    cluster = await startPgCluster();
    for (const build of builds) {
      build.databaseUrl = await createBenchDatabase(cluster.url);
      migrate(build);
    }
    const rows: Array<{ build: string; scenario: string; result: string }> = [];
    for (let round = 0; round < ROUNDS; round++) {
      // Interleaved: the order flips every round, so drift on a shared machine hits both builds.
      const order = round % 2 === 0 ? builds : [...builds].reverse();
      for (const build of order) {
        const server = await start(build);
        try {
          build.accounts ??= await seed(build, server.url);
          for (const r of await runScenarios(build, server.url))
            rows.push({ build: build.name, ...r, result: r.result });
          rows.push({
            build: build.name,
            scenario: "server peak RSS",
            result: `${Math.round(peakRssMiB(server.child.pid!))} MiB`,
          });
        } finally {
          await stop(server.child);
        }
      }
    }
    print(rows);
  } finally {
    await cluster?.destroy();
  }
  return 0;
}

function env(build: Build): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NODE_ENV: "production",
    DATABASE_URL: build.databaseUrl,
    JWT_SECRET,
    ACCESS_TOKEN_TTL_SECONDS: "3600",
    // Seeding registers a handful of accounts from one address.
    RATE_LIMIT_PER_MINUTE: "1000",
    LOG_LEVEL: "warn",
  };
}

function migrate(build: Build): void {
  const r = spawnSync(process.execPath, [build.migrate, "up"], { env: env(build), encoding: "utf8" });
  if (r.status !== 0) throw new Error(`migrate failed: ${r.stderr}`);
}

function start(build: Build): Promise<Running> {
  return startProcess(
    [...apiNodeFlags(DEFAULT_APP_MEMORY_MAX_MIB), build.server],
    { ...env(build), MIGRATE_ON_START: "false" },
    "/readyz",
  );
}

async function api(base: string, path: string, init: { method?: string; token?: string; json?: unknown } = {}) {
  const res = await fetch(`${base}${path}`, {
    method: init.method ?? "GET",
    headers: {
      "content-type": "application/json",
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
    },
    ...(init.json === undefined ? {} : { body: JSON.stringify(init.json) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** Accounts by name: `todos-<n>` with n todos (inserted in SQL: the trigger numbers them as the API would). */
async function seed(build: Build, base: string): Promise<Record<string, Account>> {
  const db = new pg.Client({ connectionString: build.databaseUrl });
  await db.connect();
  const accounts: Record<string, Account> = {};
  try {
    for (const name of [...SIZES.map((n) => `todos-${n}`), "quiet", "busy"]) {
      const username = `bench_${name.replace(/\W/g, "_")}_${randomBytes(3).toString("hex")}`;
      const password = "bench password 123";
      const reg = await api(base, "/api/v1/users", {
        method: "POST",
        json: { username, email: `${username}@example.com`, password },
      });
      if (reg.status !== 201) throw new Error(`register: ${reg.status}`);
      const login = await api(base, "/api/v1/auth/token", { method: "POST", json: { username, password } });
      accounts[name] = { id: reg.body.id, token: login.body.access_token };
    }
    const counts: Record<string, number> = { quiet: 3, busy: 100 };
    for (const n of SIZES) counts[`todos-${n}`] = n;
    for (const [name, n] of Object.entries(counts)) {
      // Batches in their own transactions: every insert updates the owner row.
      for (let from = 1; from <= n; from += 1000) {
        await db.query(
          `insert into todos (user_id, title, description, completed)
           select $1, 'Todo ' || i, 'Seeded by the accounts bench', i % 3 = 0 from generate_series($2::int, $3::int) i`,
          [accounts[name]!.id, from, Math.min(n, from + 999)],
        );
      }
    }
    await db.query("vacuum analyze todos");
  } finally {
    await db.end();
  }
  return accounts;
}

async function runScenarios(build: Build, base: string): Promise<Array<{ scenario: string; result: string }>> {
  const accounts = build.accounts!;
  const out: Array<{ scenario: string; result: string }> = [];
  const wrk = (account: Account, seconds = DURATION): Promise<LoadResult> =>
    runLoad({
      url: `${base}/api/v1/todos?limit=20`,
      headers: { authorization: `Bearer ${account.token}` },
      connections: 32,
      threads: 2,
      durationSeconds: seconds,
    });
  for (const n of SIZES) {
    await wrk(accounts[`todos-${n}`]!, 2); // warm-up
    const r = await wrk(accounts[`todos-${n}`]!);
    out.push({
      scenario: `list, account with ${n.toLocaleString("en")} todos`,
      result: `${r.requestsPerSecond.toFixed(0)} req/s, p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms, non-2xx/errors ${r.errors}`,
    });
  }
  const quiet = accounts.quiet!;
  const noisy = accounts["todos-10000"]!;
  const q0 = await quietWhile(base, quiet, async () => {
    await new Promise((r) => setTimeout(r, DURATION * 1000));
    return undefined;
  });
  out.push({ scenario: "quiet account alone", result: q0.summary });
  const q1 = await quietWhile(base, quiet, async () => {
    const r = await wrk(noisy);
    return `busy: ${r.requestsPerSecond.toFixed(0)} req/s, ${r.errors} non-2xx`;
  });
  out.push({ scenario: "quiet, while another account sends 32 parallel lists", result: q1.summary });
  const q2 = await quietWhile(base, quiet, () => mixedLoad(base, accounts.busy!, 32, DURATION));
  out.push({ scenario: "quiet, while another account sends 32 parallel mixed", result: q2.summary });
  return out;
}

/** The quiet account lists every 50 ms while `load` runs; its latencies, and what `load` reported. */
async function quietWhile(base: string, quiet: Account, load: () => Promise<string | undefined>) {
  const latencies: number[] = [];
  let failures = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const t0 = performance.now();
      const r = await fetch(`${base}/api/v1/todos?limit=20`, { headers: { authorization: `Bearer ${quiet.token}` } });
      await r.arrayBuffer();
      if (r.status !== 200) failures++;
      latencies.push(performance.now() - t0);
      await new Promise((res) => setTimeout(res, 50));
    }
  })();
  const note = await load();
  running = false;
  await loop;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
  return {
    summary: `quiet p50 ${pct(50).toFixed(1)} ms, p99 ${pct(99).toFixed(1)} ms (${latencies.length} lists, ${failures} failed)${note ? `; ${note}` : ""}`,
  };
}

/** `clients` parallel loops of one account: 40 % list, 30 % create, 20 % update, 10 % sync. */
async function mixedLoad(base: string, account: Account, clients: number, seconds: number): Promise<string> {
  const until = Date.now() + seconds * 1000;
  const statuses: Record<string, number> = {};
  let ids: number[] = [];
  const list = await api(base, "/api/v1/todos?limit=100", { token: account.token });
  ids = (list.body?.items ?? []).map((t: { id: number }) => t.id);
  let n = 0;
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let i = c; Date.now() < until; i++) {
        const pick = (i * 7 + c) % 10;
        let r: { status: number; body: unknown };
        if (pick < 4) r = await api(base, "/api/v1/todos?limit=20", { token: account.token });
        else if (pick < 7)
          r = await api(base, "/api/v1/todos", { method: "POST", token: account.token, json: { title: `m${i}` } });
        else if (pick < 9) {
          const id = ids[i % Math.max(1, ids.length)];
          r = await api(base, `/api/v1/todos/${id}`, {
            method: "PATCH",
            token: account.token,
            json: { title: `u${i}` },
          });
        } else r = await api(base, "/api/v1/todos/changes?limit=50", { token: account.token });
        statuses[r.status] = (statuses[r.status] ?? 0) + 1;
        n++;
      }
    }),
  );
  const by = Object.entries(statuses)
    .map(([s, k]) => `${s}×${k}`)
    .join(" ");
  return `busy: ${(n / seconds).toFixed(0)} req/s (${by})`;
}

function print(rows: Array<{ build: string; scenario: string; result: string }>): void {
  const builds = [...new Set(rows.map((r) => r.build))];
  for (const build of builds) {
    console.log(`\n## ${build}`);
    for (const r of rows.filter((x) => x.build === build)) console.log(`${r.scenario.padEnd(58)} ${r.result}`);
  }
  console.log(`\nnode ${process.version}, ${ROUNDS} round(s) of ${DURATION} s per load, builds interleaved`);
}

runMain(import.meta.url, "bench:accounts", main);
