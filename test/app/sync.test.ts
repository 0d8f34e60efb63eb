import pg from "pg";
import { describe, expect, it } from "vitest";
import { legacyCursor as encodeCursor } from "../../app/services/sync-cursor.js";
import { apiSuite } from "../support/api-suite.js";
import { client, newAccount, startTestApp, type Account, type Client } from "../../harness/support/app-harness.js";

/** v1.1 delta sync: GET /api/v1/todos/changes. */
const suite = apiSuite({}, {});
const { api, sql: sqlClient } = suite;
const api2 = suite.clients[1]!;

type Change =
  | { type: "upsert"; todo: { id: number; version: number; title: string } }
  | { type: "delete"; id: number; deleted_at: string; version: number };

async function page(acct: Account, cursor?: string, limit?: number, c: Client = api) {
  const q = new URLSearchParams();
  if (cursor !== undefined) q.set("cursor", cursor);
  if (limit !== undefined) q.set("limit", String(limit));
  const res = await c.get(`/api/v1/todos/changes?${q}`, { token: acct.access });
  expect(res.status, res.text).toBe(200);
  return res.body as { changes: Change[]; next_cursor: string; has_more: boolean };
}

/** Calls until has_more is false; returns every change and the cursor to keep. */
async function drain(acct: Account, cursor?: string, limit?: number, c: Client = api) {
  const all: Change[] = [];
  for (;;) {
    const p = await page(acct, cursor, limit, c);
    all.push(...p.changes);
    cursor = p.next_cursor;
    if (!p.has_more) return { changes: all, cursor };
  }
}

const newTodo = async (acct: Account, title: string) =>
  (await api.post("/api/v1/todos", { token: acct.access, json: { title } })).body;

describe("GET /api/v1/todos/changes", () => {
  it("without a cursor: every live todo as an upsert, paged, then a cursor for what follows", async () => {
    const acct = await newAccount(api);
    const gone = await newTodo(acct, "deleted before the first sync");
    for (let i = 0; i < 7; i++) await newTodo(acct, `todo ${i}`);
    await api.delete(`/api/v1/todos/${gone.id}`, { token: acct.access });
    const first = await page(acct, undefined, 3);
    expect(first.changes).toHaveLength(3);
    expect(first.has_more).toBe(true);
    expect(first.next_cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    const rest = await drain(acct, first.next_cursor, 3);
    // Later pages are "changes after a cursor": the deletion may show (a no-op for this client).
    const all = [...first.changes, ...rest.changes].filter((c) => !(c.type === "delete" && c.id === gone.id));
    expect(all.every((c) => c.type === "upsert")).toBe(true);
    expect(first.changes.every((c) => c.type === "upsert")).toBe(true);
    expect(all.map((c) => (c.type === "upsert" ? c.todo.title : "")).sort()).toEqual(
      Array.from({ length: 7 }, (_, i) => `todo ${i}`),
    );
    expect(Object.keys((all[0] as { todo: object }).todo).sort()).toEqual([
      "attachments",
      "completed",
      "created_at",
      "description",
      "due_date",
      "id",
      "title",
      "updated_at",
      "version",
    ]);
    // Nothing new: an empty page, the same position.
    const idle = await page(acct, rest.cursor);
    expect(idle).toMatchObject({ changes: [], has_more: false });
    expect((await page(acct, idle.next_cursor)).changes).toEqual([]);
  });

  it("with a cursor: changes oldest first, a todo changed several times once in its latest state, deletions as tombstones", async () => {
    const acct = await newAccount(api);
    const a = await newTodo(acct, "a");
    const b = await newTodo(acct, "b");
    const c = await newTodo(acct, "c");
    const { cursor } = await drain(acct);
    await api.patch(`/api/v1/todos/${a.id}`, { token: acct.access, json: { title: "a2" } });
    await api.post(`/api/v1/todos/${b.id}/complete`, { token: acct.access });
    await api.patch(`/api/v1/todos/${a.id}`, { token: acct.access, json: { title: "a3" } });
    await api.delete(`/api/v1/todos/${c.id}`, { token: acct.access });
    const d = await newTodo(acct, "d");
    const { changes } = await drain(acct, cursor);
    expect(
      changes.map((ch) =>
        ch.type === "upsert" ? `upsert ${ch.todo.title} v${ch.todo.version}` : `delete ${ch.id} v${ch.version}`,
      ),
    ).toEqual(["upsert b v2", "upsert a3 v3", `delete ${c.id} v2`, "upsert d v1"]);
    const tombstone = changes[2] as Extract<Change, { type: "delete" }>;
    expect(tombstone.deleted_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(d.version).toBe(1);
    // Other users' changes never show.
    const other = await newAccount(api);
    await newTodo(other, "not yours");
    expect((await drain(acct, (await drain(acct)).cursor)).changes).toEqual([]);
  });

  it("400 for a malformed cursor, 410 sync_expired for one past the retention or ahead of the account, 422 for a bad limit", async () => {
    const acct = await newAccount(api);
    for (const bad of [
      "garbage!",
      "Zm9v",
      `${encodeCursor(1, Date.now()).slice(0, -2)}@@`,
      Buffer.from("v1.x.1").toString("base64url"),
    ]) {
      const res = await api.get(`/api/v1/todos/changes?cursor=${encodeURIComponent(bad)}`, { token: acct.access });
      expect(res.status, bad).toBe(400);
      expect(res.body.error.code).toBe("bad_request");
    }
    const old = await api.get(`/api/v1/todos/changes?cursor=${encodeCursor(0, Date.now() - 31 * 86_400_000)}`, {
      token: acct.access,
    });
    expect(old.status).toBe(410);
    expect(old.body.error.code).toBe("sync_expired");
    const ahead = await api.get(`/api/v1/todos/changes?cursor=${encodeCursor(10_000, Date.now())}`, {
      token: acct.access,
    });
    expect(ahead.status).toBe(410);
    for (const limit of ["0", "501", "x"])
      expect((await api.get(`/api/v1/todos/changes?limit=${limit}`, { token: acct.access })).status).toBe(422);
    expect((await api.get("/api/v1/todos/changes")).status).toBe(401);
  });

  it("tombstones past the retention are pruned; deleting the account removes its tombstones", async () => {
    const acct = await newAccount(api);
    const t1 = await newTodo(acct, "1");
    const t2 = await newTodo(acct, "2");
    await api.delete(`/api/v1/todos/${t1.id}`, { token: acct.access });
    await api.delete(`/api/v1/todos/${t2.id}`, { token: acct.access });
    await sqlClient.query(
      "update todo_tombstones set deleted_at = now() - interval '32 days' where user_id = $1 and todo_id = $2",
      [acct.id, t1.id],
    );
    // A fresh process runs the cleanup on its first sync (then at most every 10 minutes).
    const fresh = await startTestApp({ databaseUrl: suite.dbUrl });
    try {
      await page(acct, undefined, undefined, client(fresh.url));
      let left: number[] = [];
      for (let i = 0; i < 50; i++) {
        left = (await sqlClient.query("select todo_id from todo_tombstones where user_id = $1", [acct.id])).rows.map(
          (r) => Number(r.todo_id),
        );
        if (!left.includes(t1.id)) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(left).toEqual([t2.id]);
    } finally {
      await fresh.close();
    }
    expect((await api.delete("/api/v1/users/me", { token: acct.access })).status).toBe(204);
    expect(
      Number(
        (await sqlClient.query("select count(*) from todo_tombstones where user_id = $1", [acct.id])).rows[0].count,
      ),
    ).toBe(0);
  });

  it("concurrent writers on two servers, with transactions committing out of order: the reader never misses or repeats a change", async () => {
    const acct = await newAccount(api);
    const ids: number[] = [];
    for (let i = 0; i < 20; i++) ids.push((await newTodo(acct, `seed ${i}`)).id);
    for (let i = 0; i < 10; i++) await newTodo(acct, `untouched ${i}`);
    const state = new Map<number, { version: number; title: string }>();
    const seen = new Set<string>();
    const apply = (changes: Change[]) => {
      for (const ch of changes) {
        const key = ch.type === "upsert" ? `${ch.todo.id}@${ch.todo.version}` : `${ch.id}@delete`;
        expect(seen.has(key), `change seen twice: ${key}`).toBe(false);
        seen.add(key);
        if (ch.type === "upsert") state.set(ch.todo.id, { version: ch.todo.version, title: ch.todo.title });
        else state.delete(ch.id);
      }
    };
    let cursor: string | undefined;
    let writing = true;
    const reader = (async () => {
      while (writing) {
        const r = await drain(acct, cursor, 7, Math.random() < 0.5 ? api : api2);
        apply(r.changes);
        cursor = r.cursor;
        // Let changes pile up beyond one page now and then.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 60));
      }
    })();
    const writer = async (w: number) => {
      const c = w % 2 ? api2 : api;
      for (let i = 0; i < 25; i++) {
        const pick = ids[Math.floor(Math.random() * ids.length)]!;
        const op = Math.random();
        // Created todos are never touched again, so each must reach the reader by its own change.
        if (op < 0.3) await c.post("/api/v1/todos", { token: acct.access, json: { title: `w${w} ${i}` } });
        else if (op < 0.8)
          await c.patch(`/api/v1/todos/${pick}`, { token: acct.access, json: { title: `w${w} edit ${i}` } });
        else await c.delete(`/api/v1/todos/${pick}`, { token: acct.access });
      }
    };
    // A transaction that starts first but commits last: what a timestamp cursor would miss.
    const slowTransactions = async () => {
      const tx = new pg.Client({ connectionString: suite.dbUrl });
      await tx.connect();
      try {
        for (let i = 0; i < 8; i++) {
          await tx.query("begin");
          await tx.query(
            "update todos set title = $1, updated_at = now() where id = (select id from todos where user_id = $2 order by random() limit 1)",
            [`slow ${i}`, acct.id],
          );
          await new Promise((r) => setTimeout(r, 40));
          await tx.query("commit");
        }
      } finally {
        await tx.end();
      }
    };
    await Promise.all([...Array.from({ length: 6 }, (_, w) => writer(w)), slowTransactions()]);
    writing = false;
    await reader;
    apply((await drain(acct, cursor, 7)).changes);
    const { rows } = await sqlClient.query("select id, version, title from todos where user_id = $1", [acct.id]);
    const actual = new Map(rows.map((r) => [Number(r.id), { version: r.version, title: r.title }]));
    expect(state).toEqual(actual);
  }, 60_000);

  it("a 10,000-todo sync reads one index range per page", async () => {
    const acct = await newAccount(api);
    // Bulk-loaded with the trigger off (10,000 row updates of one owner in one transaction would
    // pile up row versions), numbering the rows the way the trigger would.
    await sqlClient.query("begin");
    await sqlClient.query("set local session_replication_role = replica");
    await sqlClient.query(
      "insert into todos (user_id, title, change_seq) select $1, 'bulk ' || g, u.change_seq + g from generate_series(1, 10000) g, users u where u.id = $1",
      [acct.id],
    );
    await sqlClient.query("update users set change_seq = change_seq + 10000 where id = $1", [acct.id]);
    await sqlClient.query("commit");
    await sqlClient.query("analyze todos");
    const started = performance.now();
    const { changes } = await drain(acct, undefined, 500);
    const elapsed = performance.now() - started;
    expect(changes).toHaveLength(10_000);
    expect(new Set(changes.map((c) => (c.type === "upsert" ? c.todo.id : 0))).size).toBe(10_000);
    const plan = (
      await sqlClient.query(
        "explain select * from todos where user_id = $1 and change_seq > 5000 order by change_seq limit 501",
        [acct.id],
      )
    ).rows
      .map((r) => r["QUERY PLAN"])
      .join("\n");
    expect(plan).toContain("todos_user_change_idx");
    console.log(`sync of 10,000 todos in 20 pages of 500: ${elapsed.toFixed(0)} ms`);
  }, 60_000);
});
