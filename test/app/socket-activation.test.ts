import { spawn, type ChildProcess } from "node:child_process";
import { request } from "node:http";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../harness/support/pg-cluster.js";
import { client, newAccount, TEST_AUDIENCE, TEST_ISSUER, TEST_JWT_SECRET } from "../../harness/support/app-harness.js";
import { inheritedSocket } from "../../app/http/inherited-socket.js";
import { createTestDatabase } from "../support/database.js";

/**
 * A restart of a lone instance (`systemctl restart`, a crash and Restart=always) with no proxy in
 * front: 50 clients without keep-alive write continuously while the process gets SIGTERM and the
 * next one starts. When the listening socket belongs to the process, connections queued in the
 * kernel when it closes are reset, and new ones are refused until the next process binds. When
 * the socket belongs to a holder that passes it on (test/support/socket-holder.mjs, what systemd
 * does for app@.socket), they wait in its backlog and the next process answers them.
 */
const MAIN = join(import.meta.dirname, "../../app/main.ts");
const HOLDER = join(import.meta.dirname, "../support/socket-holder.mjs");
const CLIENTS = 50;

interface Outcome {
  connected: boolean;
  status?: number;
  error?: string;
  sentAt: number;
  doneAt: number;
}

function post(port: number, token: string, title: string): Promise<Outcome> {
  const sentAt = Date.now();
  return new Promise((resolve) => {
    let connected = false;
    const body = JSON.stringify({ title });
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method: "POST",
        path: "/api/v1/todos",
        agent: false,
        timeout: 30_000,
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": "application/json",
          "content-length": String(Buffer.byteLength(body)),
        },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve({ connected, status: res.statusCode, sentAt, doneAt: Date.now() }));
      },
    );
    req.on("socket", (socket) => socket.once("connect", () => (connected = true)));
    req.on("timeout", () => req.destroy(new Error("no answer within 30 s")));
    req.on("error", (err: NodeJS.ErrnoException) =>
      resolve({ connected, error: err.code ?? err.message, sentAt, doneAt: Date.now() }),
    );
    req.end(body);
  });
}

/** The app's JSON log lines, from every process that writes to `stream`. */
class Logs {
  readonly text: string[] = [];
  readonly listening: { pid: number; url: string; at: number }[] = [];
  holderPort: number | undefined;
  follow(proc: ChildProcess) {
    let rest = "";
    const take = (chunk: Buffer) => {
      rest += chunk.toString();
      const lines = rest.split("\n");
      rest = lines.pop()!;
      for (const line of lines) {
        this.text.push(line);
        if (!line.startsWith("{")) continue;
        const entry = JSON.parse(line) as { msg?: string; pid?: number; url?: string; holder?: { port: number } };
        if (entry.holder) this.holderPort = entry.holder.port;
        if (entry.msg === "listening" && entry.pid)
          this.listening.push({ pid: entry.pid, url: entry.url ?? "", at: Date.now() });
      }
    };
    proc.stdout!.on("data", take);
    proc.stderr!.on("data", (c: Buffer) => this.text.push(c.toString()));
  }
  async until<T>(what: string, value: () => T | undefined, timeoutMs = 60_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = value();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`${what} did not happen; output:\n${this.text.join("\n")}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface RestartRun {
  outcomes: Outcome[];
  /** When the second process logged "listening". */
  nextListeningAt: number;
  sigtermAt: number;
  created: number;
}

/**
 * Starts the first process (`start(1)`), puts 50 writing clients on it, sends it SIGTERM, waits
 * for the second process (`start(2)` is called once the first has exited; the holder starts it by
 * itself), lets it serve, then stops everything and counts the todos in the database.
 */
async function restartUnderLoad(
  databaseUrl: string,
  port: () => number,
  logs: Logs,
  start: (generation: number) => void,
): Promise<RestartRun> {
  start(1);
  const first = await logs.until("the first process listening", () => logs.listening[0]);
  // on the socket the clients use (with a holder: the one it passed, not HOST:PORT)
  expect(new URL(first.url).port).toBe(String(port()));
  const account = await newAccount(client(`http://127.0.0.1:${port()}`));
  const outcomes: Outcome[] = [];
  let stopping = false;
  const clients = Array.from({ length: CLIENTS }, async (_, c) => {
    for (let n = 0; !stopping; n++) {
      const outcome = await post(port(), account.access, `client ${c} #${n}`);
      outcomes.push(outcome);
      if (outcome.error) await sleep(20); // a refused connection is retried, not in a tight loop
    }
  });
  await logs.until("200 answers from the first process", () => (outcomes.length >= 200 ? true : undefined));
  const sigtermAt = Date.now();
  process.kill(first.pid, "SIGTERM");
  const exited = await logs.until("the first process exiting", () => (isAlive(first.pid) ? undefined : true));
  expect(exited).toBe(true);
  start(2);
  const next = await logs.until("the second process listening", () => logs.listening[1]);
  expect(new URL(next.url).port).toBe(String(port()));
  const countAt = outcomes.length;
  await logs.until("200 more answers", () => (outcomes.length >= countAt + 200 ? true : undefined));
  stopping = true;
  await Promise.all(clients);
  const check = new pg.Client({ connectionString: databaseUrl });
  await check.connect();
  const created = (await check.query("select count(*)::int as n from todos where user_id = $1", [account.id])).rows[0]
    .n as number;
  await check.end();
  return { outcomes, nextListeningAt: next.at, sigtermAt, created };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function summary(name: string, run: RestartRun) {
  const ok = run.outcomes.filter((o) => o.status === 201).length;
  const failedConnected = run.outcomes.filter((o) => o.connected && o.status !== 201);
  const refused = run.outcomes.filter((o) => !o.connected && o.status === undefined);
  const acrossRestart = run.outcomes.filter(
    (o) => o.status === 201 && o.sentAt < run.nextListeningAt && o.doneAt >= run.nextListeningAt,
  ).length;
  const errors = [...new Set(run.outcomes.filter((o) => o.error).map((o) => o.error))].join(", ") || "none";
  console.log(
    `${name}: ${run.outcomes.length} requests, ${ok} answered 201, ${failedConnected.length} failed after connecting, ` +
      `${refused.length} never connected (errors: ${errors}); ${acrossRestart} sent before the next process ` +
      `listened were answered by it; ${run.nextListeningAt - run.sigtermAt} ms from SIGTERM to the next process listening`,
  );
  return { ok, failedConnected, refused, acrossRestart };
}

function appEnv(databaseUrl: string, port: number): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    NODE_ENV: "test",
    HOST: "127.0.0.1",
    PORT: String(port),
    DATABASE_URL: databaseUrl,
    JWT_SECRET: TEST_JWT_SECRET,
    JWT_ISSUER: TEST_ISSUER,
    JWT_AUDIENCE: TEST_AUDIENCE,
    BCRYPT_COST: "4",
    RATE_LIMIT_PER_MINUTE: "1000",
    // one account writes from 50 clients: its share of the process must not answer 429
    ACCOUNT_RATE_LIMIT_PER_MINUTE: "1000000",
    ACCOUNT_MAX_IN_FLIGHT: "10",
    ACCOUNT_MAX_QUEUED: "1000",
    LOG_LEVEL: "info",
  };
}

describe("a lone instance restarted under 50 clients without keep-alive", () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  const procs: ChildProcess[] = [];
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    for (const p of procs) if (p.exitCode === null) p.kill("SIGKILL");
    await db?.drop();
  });

  it("loses no request when the listening socket is passed to each process (socket activation)", async () => {
    const logs = new Logs();
    // PORT is another free port: a process that bound HOST:PORT instead of the passed socket
    // would never answer the clients, which use the holder's port.
    const env = appEnv(db.url, await freePort());
    const run = await restartUnderLoad(
      db.url,
      () => logs.holderPort!,
      logs,
      (generation) => {
        if (generation !== 1) return; // the holder starts the next process when the first exits
        const holder = spawn(process.execPath, [HOLDER, "2", process.execPath, "--import", "tsx", MAIN], {
          env,
          stdio: ["ignore", "pipe", "pipe"],
        });
        procs.push(holder);
        logs.follow(holder);
      },
    );
    const s = summary("socket passed to each process", run);
    expect(s.failedConnected.map((o) => o.error ?? o.status)).toEqual([]);
    expect(s.refused.map((o) => o.error)).toEqual([]);
    expect(s.ok).toBe(run.outcomes.length);
    // the restart happened under load: requests waited in the backlog for the next process
    expect(s.acrossRestart).toBeGreaterThan(0);
    // every answered create is in the database, once
    expect(run.created).toBe(s.ok);
    expect(logs.text.join("\n")).toContain("serving on the listening socket passed by systemd");
    process.kill(logs.listening[1]!.pid, "SIGTERM");
  }, 180_000);

  it("for comparison, each process binding the port itself: printed, not asserted", async () => {
    const logs = new Logs();
    const port = await freePort();
    const env = appEnv(db.url, port);
    const run = await restartUnderLoad(
      db.url,
      () => port,
      logs,
      () => {
        const proc = spawn(process.execPath, ["--import", "tsx", MAIN], { env, stdio: ["ignore", "pipe", "pipe"] });
        procs.push(proc);
        logs.follow(proc);
      },
    );
    const s = summary("each process binding the port", run);
    expect(run.created).toBe(s.ok);
    process.kill(logs.listening[1]!.pid, "SIGTERM");
  }, 180_000);
});

describe("the inherited socket (sd_listen_fds)", () => {
  it("is fd 3 when LISTEN_PID is this process, and the variables are removed", () => {
    const env: Record<string, string | undefined> = { LISTEN_FDS: "1", LISTEN_PID: "42", LISTEN_FDNAMES: "x" };
    expect(inheritedSocket(env, 42)).toEqual({ fd: 3 });
    expect(env).toEqual({});
  });
  it("is none for another process, or without LISTEN_FDS", () => {
    expect(inheritedSocket({ LISTEN_FDS: "1", LISTEN_PID: "41" }, 42)).toBeUndefined();
    expect(inheritedSocket({}, 42)).toBeUndefined();
    expect(inheritedSocket({ LISTEN_FDS: "0", LISTEN_PID: "42" }, 42)).toBeUndefined();
  });
  it("refuses more than one socket instead of guessing", () => {
    expect(() => inheritedSocket({ LISTEN_FDS: "2", LISTEN_PID: "42" }, 42)).toThrow(/exactly one socket/);
  });
});
