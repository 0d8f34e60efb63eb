import { describe, expect, it } from "vitest";
import { apiSuite } from "../support/api-suite.js";
import { newAccount, type Account, type Client } from "../../harness/support/app-harness.js";

/** POST /api/v1/todos/batch: an offline queue sent in one request, on real PostgreSQL. */
const suite = apiSuite({}, {});
const { api, sql } = suite;
const api2 = suite.clients[1]!;

type Op = Record<string, unknown>;
type Result = {
  status: number;
  todo?: { id: number; version: number; title: string; completed: boolean };
  error?: { code: string; details?: unknown[] };
  replayed?: boolean;
};

const send = async (acct: Account, operations: Op[], c: Client = api) => {
  const res = await c.post("/api/v1/todos/batch", { token: acct.access, json: { operations } });
  expect(res.status, res.text).toBe(200);
  expect(res.body.results).toHaveLength(operations.length);
  return res.body.results as Result[];
};

type Change =
  | { type: "upsert"; todo: { id: number; version: number; title: string; completed: boolean } }
  | { type: "delete"; id: number; version: number };

async function drain(acct: Account, cursor?: string) {
  const changes: Change[] = [];
  for (;;) {
    const q = cursor === undefined ? "" : `?cursor=${cursor}`;
    const res = await api.get(`/api/v1/todos/changes${q}`, { token: acct.access });
    expect(res.status, res.text).toBe(200);
    changes.push(...res.body.changes);
    cursor = res.body.next_cursor as string;
    if (!res.body.has_more) return { changes, cursor };
  }
}

const todoCount = async (acct: Account) =>
  Number((await sql.query("select count(*) from todos where user_id = $1", [acct.id])).rows[0].count);

describe("POST /api/v1/todos/batch", () => {
  it("applies a 100-operation batch in order, refs naming earlier creates, and sync sees each applied change once", async () => {
    const acct = await newAccount(api);
    const { cursor } = await drain(acct);
    const ops: Op[] = [];
    for (let i = 0; i < 40; i++) ops.push({ op: "create", ref: `t${i}`, body: { title: `todo ${i}` } });
    for (let i = 0; i < 20; i++) ops.push({ op: "update", ref: `t${i}`, body: { title: `todo ${i} renamed` } });
    for (let i = 0; i < 20; i++) ops.push({ op: "complete", ref: `t${i}`, if_match: '"2"' });
    for (let i = 20; i < 30; i++) ops.push({ op: "delete", ref: `t${i}` });
    for (let i = 30; i < 40; i++) ops.push({ op: "reopen", ref: `t${i}` });
    expect(ops).toHaveLength(100);
    const results = await send(acct, ops);
    expect(results.slice(0, 40).map((r) => r.status)).toEqual(Array(40).fill(201));
    expect(results.slice(40, 60).every((r) => r.status === 200 && r.todo?.version === 2)).toBe(true);
    expect(results.slice(60, 80).every((r) => r.status === 200 && r.todo?.completed && r.todo.version === 3)).toBe(
      true,
    );
    expect(results.slice(80, 90).map((r) => r.status)).toEqual(Array(10).fill(204));
    expect(results.slice(80, 90).every((r) => r.todo === undefined)).toBe(true);
    // reopen of an open todo changes nothing, as the single route
    expect(results.slice(90).every((r) => r.status === 200 && r.todo?.version === 1)).toBe(true);
    // in order: the ids of the creates grow
    const ids = results.slice(0, 40).map((r) => r.todo!.id);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    expect(results[40]!.todo!.id).toBe(ids[0]);
    expect(await todoCount(acct)).toBe(30);

    const { changes } = await drain(acct, cursor);
    const keys = changes.map((c) => (c.type === "upsert" ? c.todo.id : c.id));
    expect(new Set(keys).size).toBe(keys.length); // each todo once, in its latest state
    expect(changes.filter((c) => c.type === "upsert")).toHaveLength(30);
    expect(
      changes
        .filter((c) => c.type === "delete")
        .map((c) => (c as { id: number }).id)
        .sort(),
    ).toEqual(ids.slice(20, 30).sort());
    for (const c of changes) {
      if (c.type !== "upsert") continue;
      const i = ids.indexOf(c.todo.id);
      expect(c.todo.version).toBe(i < 20 ? 3 : 1);
      expect(c.todo.title).toBe(i < 20 ? `todo ${i} renamed` : `todo ${i}`);
    }
  });

  it("a resent batch with idempotency keys replays every result and changes nothing twice", async () => {
    const acct = await newAccount(api);
    const ops: Op[] = [
      { op: "create", ref: "a", body: { title: "milk" }, idempotency_key: "q-1" },
      { op: "create", ref: "b", body: { title: "bread" }, idempotency_key: "q-2" },
      { op: "update", ref: "a", body: { description: "2 litres" }, if_match: '"1"', idempotency_key: "q-3" },
      { op: "complete", ref: "b", idempotency_key: "q-4" },
      { op: "delete", ref: "b", if_match: '"2"', idempotency_key: "q-5" },
    ];
    const first = await send(acct, ops);
    expect(first.map((r) => r.status)).toEqual([201, 201, 200, 200, 204]);
    expect(first.every((r) => r.replayed === undefined)).toBe(true);
    const { cursor } = await drain(acct);
    // The response was lost; the app sends the same batch again, to the other server.
    const again = await send(acct, ops, api2);
    expect(again.map((r) => r.status)).toEqual([201, 201, 200, 200, 204]);
    expect(again.every((r) => r.replayed === true)).toBe(true);
    expect(again.map(({ replayed: _r, ...rest }) => rest)).toEqual(first);
    expect(await todoCount(acct)).toBe(1);
    const a = await api.get(`/api/v1/todos/${first[0]!.todo!.id}`, { token: acct.access });
    expect(a.body.version).toBe(2);
    expect((await drain(acct, cursor)).changes).toEqual([]);
    // The same key with another operation is the single routes' 422; the rest still applies.
    const reused = await send(acct, [
      { op: "create", body: { title: "eggs" }, idempotency_key: "q-1" },
      { op: "create", body: { title: "eggs" }, idempotency_key: "q-6" },
    ]);
    expect(reused[0]!.status).toBe(422);
    expect(reused[0]!.error!.code).toBe("idempotency_key_reused");
    expect(reused[1]!.status).toBe(201);
    // One store with the Idempotency-Key header: a key used there is taken here (another request).
    await api.post("/api/v1/todos", {
      token: acct.access,
      json: { title: "x" },
      headers: { "idempotency-key": "h-1" },
    });
    const cross = await send(acct, [{ op: "create", body: { title: "x" }, idempotency_key: "h-1" }]);
    expect(cross[0]!.error!.code).toBe("idempotency_key_reused");
  });

  it("an operation that fails (404, 412, 422) fails alone: the ones before and after it stay applied", async () => {
    const acct = await newAccount(api);
    const other = await newAccount(api);
    const foreign = (await api.post("/api/v1/todos", { token: other.access, json: { title: "not yours" } })).body;
    const results = await send(acct, [
      { op: "create", ref: "a", body: { title: "first" } },
      { op: "update", id: foreign.id, body: { title: "stolen" } },
      { op: "complete", ref: "a", if_match: '"7"' },
      { op: "create", body: { title: "   " } },
      { op: "create", ref: "c", body: { title: "last" } },
      { op: "update", ref: "a", body: { completed: true }, if_match: '"1"' },
    ]);
    expect(results.map((r) => r.status)).toEqual([201, 404, 412, 422, 201, 200]);
    expect(results[1]!.error!.code).toBe("not_found");
    expect(results[2]!.error!.code).toBe("precondition_failed");
    expect(results[3]!.error).toEqual({
      code: "validation_failed",
      message: "The request did not pass validation.",
      details: [{ path: "title", message: "must not be empty" }],
    });
    expect(await todoCount(acct)).toBe(2);
    expect((await api.get(`/api/v1/todos/${foreign.id}`, { token: other.access })).body.title).toBe("not yours");
  });

  it("each operation answers exactly what its single route answers (status and error body)", async () => {
    const acct = await newAccount(api);
    const todo = (await api.post("/api/v1/todos", { token: acct.access, json: { title: "t" } })).body;
    const cases: Array<{ op: Op; single: () => Promise<{ status: number; body: unknown }> }> = [
      {
        op: { op: "create", body: { title: "x".repeat(201), due_date: "tomorrow", bogus: 1 } },
        single: () =>
          api.post("/api/v1/todos", {
            token: acct.access,
            json: { title: "x".repeat(201), due_date: "tomorrow", bogus: 1 },
          }),
      },
      {
        op: { op: "update", id: todo.id, body: { description: "d".repeat(2001) } },
        single: () =>
          api.patch(`/api/v1/todos/${todo.id}`, { token: acct.access, json: { description: "d".repeat(2001) } }),
      },
      {
        op: { op: "delete", id: todo.id, if_match: '"stale"' },
        single: () =>
          api.delete(`/api/v1/todos/${todo.id}`, { token: acct.access, headers: { "if-match": '"stale"' } }),
      },
      {
        op: { op: "complete", id: 999_999_999 },
        single: () => api.post("/api/v1/todos/999999999/complete", { token: acct.access }),
      },
    ];
    // The envelope may not carry unknown fields; the one with `bogus` is checked per field by the single route.
    for (const { op, single } of cases) {
      const expected = await single();
      const body = op.body as Record<string, unknown> | undefined;
      if (body && "bogus" in body) {
        const { bogus: _b, ...typed } = body;
        const [res] = await send(acct, [{ ...op, body: typed }]);
        expect(res!.status).toBe(expected.status);
        const details = (expected.body as { error: { details: Array<{ path: string }> } }).error.details;
        expect(res!.error!.details).toEqual(details.filter((d) => d.path !== "bogus"));
        continue;
      }
      const [res] = await send(acct, [op]);
      expect({ status: res!.status, body: { error: res!.error } }).toEqual({
        status: expected.status,
        body: expected.body,
      });
    }
  });

  it("refs: unknown, reused, or naming a failed create are 422 for that operation", async () => {
    const acct = await newAccount(api);
    const results = await send(acct, [
      { op: "complete", ref: "nope" },
      { op: "create", ref: "bad", body: { title: "" } },
      { op: "complete", ref: "bad" },
      { op: "create", ref: "ok", body: { title: "ok" } },
      { op: "create", ref: "ok", body: { title: "again" } },
      { op: "update", body: { title: "no target" } },
      { op: "delete", ref: "ok", id: 1 },
      { op: "reopen", ref: "ok", body: { title: "not for reopen" } },
      { op: "create", body: { title: "k" }, idempotency_key: "" },
    ]);
    expect(results.map((r) => r.status)).toEqual([422, 422, 422, 201, 422, 422, 422, 422, 422]);
    expect(results[2]!.error!.details).toEqual([
      { path: "ref", message: "names a todo whose create failed earlier in this batch" },
    ]);
    expect(await todoCount(acct)).toBe(1);
  });

  it("a malformed batch is refused whole: nothing applied", async () => {
    const acct = await newAccount(api);
    const post = (json: unknown) => api.post("/api/v1/todos/batch", { token: acct.access, json });
    const tooMany = Array.from({ length: 101 }, () => ({ op: "create", body: { title: "x" } }));
    for (const body of [
      { operations: [] },
      { operations: tooMany },
      { operations: [{ op: "explode" }] },
      { operations: [{ op: "create", body: { title: 5 } }] },
      { operations: [{ op: "create", body: { title: "a\u0000b" } }] },
      { operations: [{ op: "delete", id: 2 ** 63 }] },
      {},
    ]) {
      const res = await post(body);
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(422);
      expect(res.body.error.code).toBe("validation_failed");
    }
    expect(
      (await api.post("/api/v1/todos/batch", { json: { operations: [{ op: "create", body: { title: "x" } }] } }))
        .status,
    ).toBe(401);
    // The header would promise a whole-batch replay it does not give: refused, not ignored.
    const header = await api.post("/api/v1/todos/batch", {
      token: acct.access,
      json: { operations: [{ op: "create", body: { title: "x" } }] },
      headers: { "idempotency-key": "whole-batch" },
    });
    expect(header.status).toBe(422);
    expect(header.body.error.details[0].path).toBe("Idempotency-Key");
    expect(await todoCount(acct)).toBe(0);
  });

  it("racing single-route writers on the same todos: every write applies once, If-Match holds, sync sees each final state once", async () => {
    const acct = await newAccount(api);
    const created = await send(
      acct,
      Array.from({ length: 10 }, (_, i) => ({ op: "create", body: { title: `r${i}` } })),
    );
    const ids = created.map((r) => r.todo!.id);
    const { cursor } = await drain(acct);
    let batchOk = 0;
    let singleOk = 0;
    const batches = Array.from({ length: 4 }, (_, b) =>
      send(
        acct,
        ids.flatMap((id) => [
          { op: "update", id, body: { description: `batch ${b}` } },
          { op: "complete", id, if_match: '"1"' },
        ]),
        b % 2 ? api2 : api,
      ).then((rs) => {
        for (const r of rs) {
          expect([200, 412]).toContain(r.status);
          if (r.status === 200) batchOk++;
        }
      }),
    );
    const singles = ids.flatMap((id) =>
      Array.from({ length: 3 }, (_, k) =>
        api.patch(`/api/v1/todos/${id}`, { token: acct.access, json: { title: `single ${k}` } }).then((r) => {
          expect(r.status).toBe(200);
          singleOk++;
        }),
      ),
    );
    await Promise.all([...batches, ...singles]);
    // 4 batches × 10 updates and 30 single updates always apply; at most one If-Match "1" per todo can.
    const rows = (await sql.query("select id::int as id, version from todos where user_id = $1", [acct.id]))
      .rows as Array<{
      id: number;
      version: number;
    }>;
    const versions = rows.reduce((sum, r) => sum + (r.version - 1), 0);
    expect(singleOk).toBe(30);
    expect(batchOk).toBeGreaterThanOrEqual(40);
    expect(batchOk).toBeLessThanOrEqual(50);
    // Every write sets a value no other write sets, so each 200 is exactly one new version:
    // nothing applied twice, nothing lost.
    expect(versions).toBe(batchOk + singleOk);
    const { changes } = await drain(acct, cursor);
    expect(changes.map((c) => (c as { todo: { id: number } }).todo.id).sort()).toEqual([...ids].sort());
    for (const c of changes) {
      const row = rows.find((r) => r.id === (c as { todo: { id: number } }).todo.id)!;
      expect((c as { todo: { version: number } }).todo.version).toBe(row.version);
    }
  });
});
