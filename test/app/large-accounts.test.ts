import type { Kysely } from "kysely";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrations } from "../../app/db/migrations/index.js";
import { type DatabaseHandle, openDatabase } from "../../app/db/database.js";
import type { Database } from "../../app/db/schema.js";
import { type ListQuery, pageQuery } from "../../app/services/todos.service.js";
import {
  type Account,
  type Client,
  client,
  newAccount,
  startTestApp,
  type TestApp,
} from "../../harness/support/app-harness.js";
import { createTestDatabase } from "../support/database.js";
import { migrateTo } from "../support/schema-compat.js";

/**
 * A page costs what its rows cost, not what the account holds, and its `total` stays exact: the
 * totals come from per-account counters kept by the database trigger that numbers every change.
 */

let app: TestApp;
let api: Client;
let sqlClient: pg.Client;
let drop: () => Promise<void>;
/** Only to compile the route's query; never executed through. */
let kysely: Kysely<Database>;
let handle: DatabaseHandle;

beforeAll(async () => {
  const db = await createTestDatabase();
  drop = db.drop;
  handle = await openDatabase({ kind: "postgres", url: db.url, poolSize: 1 });
  kysely = handle.db;
  app = await startTestApp({ databaseUrl: db.url });
  api = client(app.url);
  sqlClient = new pg.Client({ connectionString: db.url });
  await sqlClient.connect();
});

afterAll(async () => {
  await sqlClient?.end();
  await handle?.close();
  await app?.close();
  await drop?.();
});

/** The account's todos counted the slow way, as the page's `total` must report them. */
async function counted(userId: number): Promise<{ all: number; done: number }> {
  const { rows } = await sqlClient.query(
    "select count(*)::int as all, count(*) filter (where completed)::int as done from todos where user_id = $1",
    [userId],
  );
  return rows[0];
}

async function totals(acct: Account): Promise<{ all: number; done: number; open: number }> {
  const [all, done, open] = await Promise.all(
    ["", "&completed=true", "&completed=false"].map((q) =>
      api.get(`/api/v1/todos?limit=1${q}`, { token: acct.access }).then((r) => {
        expect(r.status, r.text).toBe(200);
        return r.body.total as number;
      }),
    ),
  );
  return { all: all!, done: done!, open: open! };
}

/** Inserts `n` todos for the account straight into the database (a big account without n requests). */
async function bulkInsert(userId: number, n: number, completedEvery = 3): Promise<void> {
  // In batches: every insert updates the owner row (change number, counters), and one transaction
  // updating one row thousands of times walks an ever longer chain of its own row versions.
  for (let from = 1; from <= n; from += 500) {
    await sqlClient.query(
      `insert into todos (user_id, title, completed)
       select $1, 'bulk ' || i, i % $4 = 0 from generate_series($2::int, $3::int) i`,
      [userId, from, Math.min(n, from + 499), completedEvery],
    );
  }
}

describe("a page's total is exact", () => {
  it("after creates, completes, reopens, patches of `completed`, deletes and a no-op update", async () => {
    const acct = await newAccount(api);
    const ids: number[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await api.post("/api/v1/todos", { token: acct.access, json: { title: `t${i}`, completed: i < 2 } });
      expect(r.status).toBe(201);
      ids.push(r.body.id);
    }
    expect(await totals(acct)).toEqual({ all: 6, done: 2, open: 4 });
    await api.post(`/api/v1/todos/${ids[3]}/complete`, { token: acct.access });
    await api.post(`/api/v1/todos/${ids[3]}/complete`, { token: acct.access }); // already complete: no change
    await api.post(`/api/v1/todos/${ids[0]}/reopen`, { token: acct.access });
    await api.patch(`/api/v1/todos/${ids[4]}`, { token: acct.access, json: { completed: true, title: "x" } });
    await api.patch(`/api/v1/todos/${ids[5]}`, { token: acct.access, json: { title: "renamed" } });
    await api.delete(`/api/v1/todos/${ids[1]}`, { token: acct.access }); // a completed one
    await api.delete(`/api/v1/todos/${ids[2]}`, { token: acct.access }); // an open one
    const truth = await counted(acct.id);
    expect(truth).toEqual({ all: 4, done: 2 });
    expect(await totals(acct)).toEqual({ all: 4, done: 2, open: 2 });
  });

  it("under concurrent writers on one account (creates, deletes and completes racing)", async () => {
    const acct = await newAccount(api);
    const seed = await Promise.all(
      Array.from({ length: 20 }, (_, i) => api.post("/api/v1/todos", { token: acct.access, json: { title: `s${i}` } })),
    );
    const ids = seed.map((r) => r.body.id as number);
    await Promise.all([
      ...Array.from({ length: 20 }, (_, i) =>
        api.post("/api/v1/todos", { token: acct.access, json: { title: `c${i}`, completed: i % 2 === 0 } }),
      ),
      ...ids.slice(0, 10).map((id) => api.delete(`/api/v1/todos/${id}`, { token: acct.access })),
      ...ids.slice(5, 15).map((id) => api.post(`/api/v1/todos/${id}/complete`, { token: acct.access })),
    ]);
    const truth = await counted(acct.id);
    expect(await totals(acct)).toEqual({ all: truth.all, done: truth.done, open: truth.all - truth.done });
  });

  it("an empty page past the end still reports the total, and a deleted account's token gets 401", async () => {
    const acct = await newAccount(api);
    await api.post("/api/v1/todos", { token: acct.access, json: { title: "only" } });
    const past = await api.get("/api/v1/todos?offset=50", { token: acct.access });
    expect(past.status).toBe(200);
    expect(past.body).toMatchObject({ items: [], total: 1, offset: 50 });
    const none = await api.get("/api/v1/todos?completed=true", { token: acct.access });
    expect(none.body).toMatchObject({ items: [], total: 0 });
    await sqlClient.query("delete from users where id = $1", [acct.id]);
    const gone = await api.get("/api/v1/todos", { token: acct.access });
    expect(gone.status).toBe(401);
  });
});

describe("a page's cost does not grow with the account", () => {
  /** Rows the executor read from `todos` for the list route's own query (EXPLAIN ANALYZE). */
  async function rowsRead(userId: number, query: ListQuery): Promise<number> {
    const compiled = pageQuery(kysely, userId, query).compile();
    // On this small test table one account holds nearly every row, so a scan of the table and a
    // sort is as cheap as the index for the planner. What is under test is the query's shape: that
    // nothing in it (a window count did) needs every row of the account once the index is used.
    await sqlClient.query("begin");
    await sqlClient.query("set local enable_seqscan = off");
    await sqlClient.query("set local enable_bitmapscan = off");
    const { rows } = await sqlClient
      .query(`explain (analyze, format json) ${compiled.sql}`, [...compiled.parameters])
      .finally(() => sqlClient.query("rollback"));
    let read = 0;
    const walk = (node: any) => {
      if (node["Relation Name"] === "todos") read += node["Actual Rows"] * (node["Actual Loops"] ?? 1);
      for (const child of node.Plans ?? []) walk(child);
    };
    walk(rows[0]["QUERY PLAN"][0].Plan);
    return read;
  }

  it("the first page of a 5,000-todo account reads one page of rows and answers the exact total", async () => {
    const acct = await newAccount(api);
    // The counters are kept by the trigger, so a bulk insert keeps them exact too.
    await bulkInsert(acct.id, 5_000);
    await sqlClient.query("analyze todos");
    const page = await api.get("/api/v1/todos?limit=20", { token: acct.access });
    expect(page.status).toBe(200);
    expect(page.body.items).toHaveLength(20);
    const truth = await counted(acct.id);
    expect(page.body.total).toBe(truth.all);
    expect(await totals(acct)).toEqual({ all: truth.all, done: truth.done, open: truth.all - truth.done });
    for (const sort of ["-created_at", "created_at", "due_date"] as const) {
      expect(await rowsRead(acct.id, { limit: 20, offset: 0, sort })).toBeLessThanOrEqual(20);
    }
    // A filter reads past the rows it skips, but not the whole account: the page is found early.
    expect(await rowsRead(acct.id, { limit: 20, offset: 0, sort: "-created_at", completed: true })).toBeLessThan(200);
  });
});

describe("the counters' migration", () => {
  const opened: { handle: DatabaseHandle; drop: () => Promise<void> }[] = [];
  afterAll(async () => {
    for (const { handle, drop } of opened) {
      await handle.close();
      await drop();
    }
  });

  it("backfills exact counts on a database that already holds todos, and down restores the old trigger", async () => {
    const created = await createTestDatabase();
    const handle = await openDatabase({ kind: "postgres", url: created.url, poolSize: 2 });
    opened.push({ handle, drop: created.drop });
    const db: Kysely<any> = handle.sessionDb;
    const names = Object.keys(migrations).sort();
    const before = names[names.indexOf("0006_todo_counts") - 1]!;
    await migrateTo(db, migrations, before);
    const user = await db
      .insertInto("users")
      .values({ username: "backfill", email: "backfill@example.com", password_hash: "x" })
      .returning("id")
      .executeTakeFirstOrThrow();
    await db
      .insertInto("todos")
      .values([
        { user_id: user.id, title: "a", completed: true },
        { user_id: user.id, title: "b", completed: false },
        { user_id: user.id, title: "c", completed: true },
      ])
      .execute();
    await migrateTo(db, migrations, "0006_todo_counts");
    const counts = await db
      .selectFrom("users")
      .select(["todo_count", "completed_count"])
      .where("id", "=", user.id)
      .executeTakeFirstOrThrow();
    expect({ all: Number(counts.todo_count), done: Number(counts.completed_count) }).toEqual({ all: 3, done: 2 });

    // After it, the trigger keeps them; the change numbering it also does is unchanged.
    const seqBefore = await db
      .selectFrom("users")
      .select("change_seq")
      .where("id", "=", user.id)
      .executeTakeFirstOrThrow();
    await db.deleteFrom("todos").where("title", "=", "a").execute();
    const after = await db
      .selectFrom("users")
      .select(["todo_count", "completed_count", "change_seq"])
      .where("id", "=", user.id)
      .executeTakeFirstOrThrow();
    expect([Number(after.todo_count), Number(after.completed_count)]).toEqual([2, 1]);
    expect(Number(after.change_seq)).toBe(Number(seqBefore.change_seq) + 1);
  });
});
