import { spawn, type ChildProcess } from "node:child_process";
import { Agent, request, type IncomingHttpHeaders } from "node:http";
import { connect } from "node:net";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../harness/support/pg-cluster.js";
import { createTestDatabase } from "../support/database.js";
import {
  client,
  newAccount,
  startTestApp,
  TEST_AUDIENCE,
  TEST_ISSUER,
  TEST_JWT_SECRET,
  type Account,
} from "../../harness/support/app-harness.js";

/**
 * SIGTERM while requests are running, against the real process (`app/main.ts`) on real PostgreSQL.
 * Requests are held "in flight" by a table lock the test takes, so the order of events is exact:
 * requests sent → SIGTERM → more requests on kept-alive connections, new connections → lock released.
 */
interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  reusedSocket: boolean;
}

function send(
  port: number,
  agent: Agent | false,
  method: string,
  path: string,
  token: string,
  json?: unknown,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const body = json === undefined ? undefined : Buffer.from(JSON.stringify(json));
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method,
        path,
        agent,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body ? { "content-type": "application/json", "content-length": String(body.length) } : {}),
        },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (text += c));
        res.on("end", () =>
          resolve({ status: res.statusCode!, headers: res.headers, body: text, reusedSocket: req.reusedSocket }),
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

function refused(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve("connected");
    });
    socket.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function locked<T>(databaseUrl: string, body: (release: () => Promise<void>) => Promise<T>): Promise<T> {
  const lock = new pg.Client({ connectionString: databaseUrl });
  lock.on("error", () => {}); // the database is dropped with force at the end
  await lock.connect();
  await lock.query("begin");
  await lock.query("lock table todos in access exclusive mode");
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    await lock.query("commit");
  };
  try {
    return await body(release);
  } finally {
    await release();
    await lock.end();
  }
}

async function waitForLockWaiters(databaseUrl: string, count: number): Promise<void> {
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    for (let i = 0; i < 200; i++) {
      const r = await c.query(
        "select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()",
      );
      if (r.rows[0].n >= count) return;
      await sleep(25);
    }
    throw new Error(`fewer than ${count} statements waited for the lock`);
  } finally {
    await c.end();
  }
}

describe("the server process on SIGTERM", () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let proc: ChildProcess;
  let port: number;
  let account: Account;
  let stderr = "";
  let exited: Promise<number | null>;

  beforeAll(async () => {
    db = await createTestDatabase();
    port = await freePort();
    proc = spawn(process.execPath, ["--import", "tsx", join(import.meta.dirname, "../../app/main.ts")], {
      env: {
        PATH: process.env.PATH,
        NODE_ENV: "test",
        HOST: "127.0.0.1",
        PORT: String(port),
        DATABASE_URL: db.url,
        JWT_SECRET: TEST_JWT_SECRET,
        JWT_ISSUER: TEST_ISSUER,
        JWT_AUDIENCE: TEST_AUDIENCE,
        BCRYPT_COST: "4",
        RATE_LIMIT_PER_MINUTE: "1000",
        LOG_LEVEL: "info",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    proc.stdout!.on("data", (c: Buffer) => (stderr += c.toString()));
    proc.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
    exited = new Promise((resolve) => proc.once("exit", (code) => resolve(code)));
    for (let i = 0; ; i++) {
      if (proc.exitCode !== null) throw new Error(`the server exited: ${stderr}`);
      if (
        await fetch(`http://127.0.0.1:${port}/readyz`).then(
          (r) => r.ok,
          () => false,
        )
      )
        break;
      if (i > 300) throw new Error(`the server did not become ready: ${stderr}`);
      await sleep(100);
    }
    account = await newAccount(client(`http://127.0.0.1:${port}`));
  }, 60_000);

  afterAll(async () => {
    if (proc?.exitCode === null) proc.kill("SIGKILL");
    await db?.drop();
  });

  it("finishes requests in flight and those sent on kept-alive connections, refuses new connections, exits 0", async () => {
    const keptAlive = Array.from({ length: 3 }, () => new Agent({ keepAlive: true, maxSockets: 1 }));
    // Each kept-alive connection has answered once and is idle when SIGTERM comes.
    for (const agent of keptAlive)
      expect((await send(port, agent, "GET", "/healthz", account.access)).status).toBe(200);

    const { inFlight, afterSigterm, newConnection } = await locked(db.url, async (release) => {
      const inFlight = [
        ...Array.from({ length: 4 }, (_, _i) => new Agent({ keepAlive: true, maxSockets: 1 })).map((agent, i) =>
          send(port, agent, "POST", "/api/v1/todos", account.access, { title: `in flight ${i} (keep-alive)` }),
        ),
        ...Array.from({ length: 4 }, (_, i) =>
          send(port, false, "POST", "/api/v1/todos", account.access, { title: `in flight ${i} (close)` }),
        ),
      ];
      await waitForLockWaiters(db.url, 1);
      await sleep(200); // every request is now inside the server (parsed, waiting for the database)
      proc.kill("SIGTERM");
      await sleep(300);
      const newConnection = await refused(port);
      // Requests that arrive after SIGTERM on connections the client already had open.
      const afterSigterm = keptAlive.map((agent, i) =>
        send(port, agent, "POST", "/api/v1/todos", account.access, { title: `after SIGTERM ${i}` }),
      );
      await sleep(200);
      await release();
      return { inFlight: await Promise.all(inFlight), afterSigterm: await Promise.all(afterSigterm), newConnection };
    });

    expect(newConnection).toBe("ECONNREFUSED");
    for (const r of [...inFlight, ...afterSigterm]) {
      expect(r.status, r.body).toBe(201);
      expect(r.headers.connection).toBe("close");
    }
    for (const r of afterSigterm) expect(r.reusedSocket).toBe(true);
    expect(await exited).toBe(0);
    expect(stderr).toContain("server stopped");

    const check = new pg.Client({ connectionString: db.url });
    await check.connect();
    const titles = (await check.query("select title from todos order by title")).rows.map((r) => r.title);
    await check.end();
    expect(titles).toHaveLength(11);
    expect(titles.filter((t: string) => t.startsWith("after SIGTERM"))).toHaveLength(3);
  }, 60_000);
});

describe("TodoServer.close bounds the drain", () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("closes idle kept-alive connections after the grace period, and destroys a stuck request at the deadline", async () => {
    const app = await startTestApp({ databaseUrl: db.url });
    const port = Number(new URL(app.url).port);
    const account = await newAccount(client(app.url));
    const idle = new Agent({ keepAlive: true, maxSockets: 1 });
    expect((await send(port, idle, "GET", "/healthz", account.access)).status).toBe(200);
    const idleSocketClosed = new Promise<number>((resolve) => {
      const socket = (Object.values(idle.freeSockets)[0] ?? [])[0]!;
      socket.once("close", () => resolve(Date.now()));
    });
    let closed: Promise<void> | undefined;
    await locked(db.url, async (release) => {
      const stuck = send(port, false, "POST", "/api/v1/todos", account.access, { title: "never answered" }).then(
        () => "answered",
        (err: NodeJS.ErrnoException) => err.code ?? err.message,
      );
      await waitForLockWaiters(db.url, 1);
      const started = Date.now();
      closed = app.server.close({ idleGraceMs: 300, drainTimeoutMs: 1_500 });
      expect(await stuck).toBe("ECONNRESET");
      const took = Date.now() - started;
      expect(took).toBeGreaterThanOrEqual(1_400);
      expect(took).toBeLessThan(5_000);
      expect((await idleSocketClosed) - started).toBeGreaterThanOrEqual(250);
      // the database pool closes once the statement the stuck request started has finished
      await release();
    });
    await closed;
    expect(app.logs.some((l) => l.includes("were closed"))).toBe(true);
    await app.close();
  }, 30_000);
});
