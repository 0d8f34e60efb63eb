import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, client, newAccount, startTestApp, type TestApp } from "../../harness/support/app-harness.js";
import { createTestDatabase } from "../support/database.js";

/**
 * One account cannot take the server from the others: each account has a bounded number of
 * requests running at once (the rest wait their turn, then are refused) and a per-minute budget,
 * with the RateLimit-* headers on its answers. The clock is pinned per app, so no test waits on
 * real time or straddles a minute boundary.
 */

let dbUrl: string;
let drop: () => Promise<void>;
let sqlClient: pg.Client;
const apps: TestApp[] = [];
let minute = Date.UTC(2031, 0, 1, 0, 0, 0);

beforeAll(async () => {
  const db = await createTestDatabase();
  dbUrl = db.url;
  drop = db.drop;
  sqlClient = new pg.Client({ connectionString: dbUrl });
  await sqlClient.connect();
});

afterAll(async () => {
  await sqlClient?.end();
  await Promise.all(apps.map((a) => a.close()));
  await drop?.();
});

async function start(env: Record<string, string>): Promise<{ api: Client; advance: () => void }> {
  minute += 5 * 60_000;
  let t = minute + 10_000;
  const app = await startTestApp({ databaseUrl: dbUrl, env, now: () => t });
  apps.push(app);
  return { api: client(app.url), advance: () => (t += 60_000) };
}

describe("one account's requests per minute", () => {
  it("counts down in RateLimit-* on every authenticated answer, then 429 with Retry-After; another account is untouched", async () => {
    const { api, advance } = await start({ ACCOUNT_RATE_LIMIT_PER_MINUTE: "4" });
    const busy = await newAccount(api);
    const quiet = await newAccount(api);
    const remaining: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await api.get("/api/v1/todos", { token: busy.access });
      expect(r.status).toBe(200);
      expect(r.headers.get("ratelimit-limit")).toBe("4");
      remaining.push(r.headers.get("ratelimit-remaining")!);
    }
    expect(remaining).toEqual(["3", "2", "1", "0"]);
    const refused = await api.post("/api/v1/todos", { token: busy.access, json: { title: "over" } });
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe("rate_limited");
    expect(refused.headers.get("retry-after")).toBe("50");
    expect(refused.headers.get("ratelimit-remaining")).toBe("0");
    // Nothing was written by the refused request.
    const { rows } = await sqlClient.query("select count(*)::int as n from todos where user_id = $1", [busy.id]);
    expect(rows[0].n).toBe(0);

    const other = await api.get("/api/v1/todos", { token: quiet.access });
    expect(other.status).toBe(200);
    expect(other.headers.get("ratelimit-remaining")).toBe("3");

    advance();
    expect((await api.get("/api/v1/todos", { token: busy.access })).status).toBe(200);
  });

  it("a route's own stricter limit keeps its headers (password checks)", async () => {
    const { api } = await start({ ACCOUNT_RATE_LIMIT_PER_MINUTE: "100", PASSWORD_RATE_LIMIT_PER_MINUTE: "2" });
    const acct = await newAccount(api);
    const r = await api.put("/api/v1/users/me/password", {
      token: acct.access,
      json: { current_password: "wrong password here", new_password: "another password 1" },
    });
    expect(r.headers.get("ratelimit-limit")).toBe("2");
    expect(r.headers.get("ratelimit-remaining")).toBe("1");
  });

  it("a request without valid credentials is 401 and counts against nobody", async () => {
    const { api } = await start({ ACCOUNT_RATE_LIMIT_PER_MINUTE: "1" });
    const acct = await newAccount(api);
    for (let i = 0; i < 3; i++) {
      const r = await api.get("/api/v1/todos", { token: "not-a-token" });
      expect(r.status).toBe(401);
      expect(r.headers.get("ratelimit-limit")).toBeNull();
    }
    expect((await api.get("/api/v1/todos", { token: acct.access })).status).toBe(200);
  });
});

describe("one account's requests at once", () => {
  /**
   * Holds the account's row lock from outside (as a long transaction of the account's own would),
   * so the account's writes block inside the database and stay in flight.
   */
  async function holdAccount(userId: number): Promise<pg.Client> {
    const holder = new pg.Client({ connectionString: dbUrl });
    await holder.connect();
    await holder.query("begin");
    await holder.query("select 1 from users where id = $1 for update", [userId]);
    return holder;
  }

  it("past its running and waiting places an account is refused at once, while another account is served", async () => {
    const { api } = await start({ ACCOUNT_MAX_IN_FLIGHT: "2", ACCOUNT_MAX_QUEUED: "1" });
    const busy = await newAccount(api);
    const quiet = await newAccount(api);
    const holder = await holdAccount(busy.id);
    try {
      const create = (title: string) => api.post("/api/v1/todos", { token: busy.access, json: { title } });
      // Two run (blocked on the row lock), one waits for a turn.
      const held = [create("a"), create("b"), create("c")];
      await waitUntil(async () => (await blockedOnLock()) === 2);
      const refused = await create("d");
      expect(refused.status).toBe(429);
      expect(refused.body.error.code).toBe("rate_limited");
      expect(refused.headers.get("retry-after")).toBe("1");

      // The other account is not behind the busy one.
      const other = await api.post("/api/v1/todos", { token: quiet.access, json: { title: "quiet" } });
      expect(other.status).toBe(201);

      await holder.query("commit");
      const done = await Promise.all(held);
      expect(done.map((r) => r.status)).toEqual([201, 201, 201]);
    } finally {
      await holder.end().catch(() => {});
    }
    const { rows } = await sqlClient.query("select title from todos where user_id = $1 order by title", [busy.id]);
    expect(rows.map((r) => r.title)).toEqual(["a", "b", "c"]);
  });

  it("a waiting request gets its turn when a running one finishes (first come, first served)", async () => {
    const { api } = await start({ ACCOUNT_MAX_IN_FLIGHT: "1", ACCOUNT_MAX_QUEUED: "5" });
    const busy = await newAccount(api);
    const holder = await holdAccount(busy.id);
    const order: string[] = [];
    const create = (title: string) =>
      api.post("/api/v1/todos", { token: busy.access, json: { title } }).then((r) => {
        order.push(title);
        return r.status;
      });
    try {
      const first = create("first");
      await waitUntil(async () => (await blockedOnLock()) === 1);
      // Sent one after another, so they reach the server in this order.
      const rest: Promise<number>[] = [];
      for (const title of ["second", "third", "fourth"]) {
        rest.push(create(title));
        await new Promise((r) => setTimeout(r, 100));
      }
      // Still one running: the others wait in the process, not in the database.
      expect(await blockedOnLock()).toBe(1);
      await holder.query("commit");
      expect(await Promise.all([first, ...rest])).toEqual([201, 201, 201, 201]);
    } finally {
      await holder.end().catch(() => {});
    }
    expect(order).toEqual(["first", "second", "third", "fourth"]);
  });
});

/** Inserts into todos waiting on a lock (the held user row) in the test database. */
async function blockedOnLock(): Promise<number> {
  const { rows } = await sqlClient.query(
    `select count(*)::int as n from pg_stat_activity
     where datname = current_database() and wait_event_type = 'Lock' and query ilike '%insert into "todos"%'`,
  );
  return rows[0].n;
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error("condition not reached in time");
}
