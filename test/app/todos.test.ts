import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../support/database.js";
import {
  client,
  newAccount,
  startTestApp,
  type Account,
  type Client,
  type TestApp,
} from "../../harness/support/app-harness.js";

let app: TestApp;
let api: Client;
let sqlClient: pg.Client;
let drop: () => Promise<void>;

beforeAll(async () => {
  const db = await createTestDatabase();
  drop = db.drop;
  app = await startTestApp({ databaseUrl: db.url });
  api = client(app.url);
  sqlClient = new pg.Client({ connectionString: db.url });
  await sqlClient.connect();
});

afterAll(async () => {
  await sqlClient?.end();
  await app?.close();
  await drop?.();
});

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

async function createTodo(acct: Account, body: Record<string, unknown>) {
  const res = await api.post("/api/v1/todos", { token: acct.access, json: body });
  expect(res.status, res.text).toBe(201);
  return res.body;
}

describe("POST /api/v1/todos", () => {
  it("201 with Location and the Todo shape; title trimmed; defaults", async () => {
    const acct = await newAccount(api);
    const res = await api.post("/api/v1/todos", { token: acct.access, json: { title: "  Buy milk  " } });
    expect(res.status).toBe(201);
    expect(res.headers.get("location")).toBe(`/api/v1/todos/${res.body.id}`);
    expect(Object.keys(res.body).sort()).toEqual([
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
    expect(res.body).toMatchObject({ title: "Buy milk", description: null, due_date: null, completed: false });
    expect(res.body.created_at).toMatch(ISO_UTC);
    expect(res.body.updated_at).toBe(res.body.created_at);
  });

  it("stores every field; due_date with an offset comes back in UTC with Z", async () => {
    const acct = await newAccount(api);
    const todo = await createTodo(acct, {
      title: "Call",
      description: "about the thing",
      due_date: "2026-12-01T08:30:00+08:00",
      completed: true,
    });
    expect(todo).toMatchObject({
      title: "Call",
      description: "about the thing",
      due_date: "2026-12-01T00:30:00.000Z",
      completed: true,
    });
    const got = await api.get(`/api/v1/todos/${todo.id}`, { token: acct.access });
    expect(got.status).toBe(200);
    expect(got.body).toEqual(todo);
  });

  it.each([
    ["2026-12-01T08:30:00.1239+08:00", "2026-12-01T00:30:00.123Z"],
    ["2027-01-01T01:00:00.5+02:00", "2026-12-31T23:00:00.500Z"],
    ["0999-06-30T23:59:59.999-00:30", "0999-07-01T00:29:59.999Z"],
  ])("prints due_date %s as %s (milliseconds, UTC, four-digit year) in every route", async (input, printed) => {
    const acct = await newAccount(api);
    const todo = await createTodo(acct, { title: "When", due_date: input });
    expect(todo.due_date).toBe(printed);
    expect((await api.get(`/api/v1/todos/${todo.id}`, { token: acct.access })).body.due_date).toBe(printed);
    expect((await api.get("/api/v1/todos", { token: acct.access })).body.items[0].due_date).toBe(printed);
    const patched = await api.patch(`/api/v1/todos/${todo.id}`, { token: acct.access, json: { title: "When?" } });
    expect(patched.body.due_date).toBe(printed);
    expect(patched.body.updated_at).toMatch(ISO_UTC);
  });

  it("accepts the boundaries: 200-character title (after trimming) and 2000-character description", async () => {
    const acct = await newAccount(api);
    const todo = await createTodo(acct, { title: `   ${"t".repeat(200)}   `, description: "d".repeat(2000) });
    expect(todo.title).toHaveLength(200);
  });

  it.each([
    ["missing title", {}, "title"],
    ["empty title", { title: "" }, "title"],
    ["whitespace-only title", { title: "   " }, "title"],
    ["201-character title", { title: "t".repeat(201) }, "title"],
    ["title not a string", { title: 5 }, "title"],
    ["title null", { title: null }, "title"],
    ["2001-character description", { title: "ok", description: "d".repeat(2001) }, "description"],
    ["due_date not a date-time", { title: "ok", due_date: "tomorrow" }, "due_date"],
    ["due_date without time", { title: "ok", due_date: "2026-12-01" }, "due_date"],
    ["due_date without offset", { title: "ok", due_date: "2026-12-01T10:00:00" }, "due_date"],
    ["completed not a boolean", { title: "ok", completed: "yes" }, "completed"],
    ["unknown field (typo)", { title: "ok", complete: true }, "complete"],
  ])("422 for %s", async (_name, body, path) => {
    const acct = await newAccount(api);
    const res = await api.post("/api/v1/todos", { token: acct.access, json: body });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe("validation_failed");
    expect(res.body.error.details.map((d: { path: string }) => d.path)).toEqual([path]);
  });

  it("422 when the body is not an object", async () => {
    const acct = await newAccount(api);
    const res = await api.post("/api/v1/todos", { token: acct.access, json: [{ title: "x" }] });
    expect(res.status).toBe(422);
  });

  it("400 for malformed JSON and for a non-JSON content type", async () => {
    const acct = await newAccount(api);
    const broken = await api.post("/api/v1/todos", {
      token: acct.access,
      body: '{"title": "x"',
      headers: { "content-type": "application/json" },
    });
    expect(broken.status).toBe(400);
    expect(broken.body.error.code).toBe("bad_request");
    const form = await api.post("/api/v1/todos", { token: acct.access, form: { title: "x" } });
    expect(form.status).toBe(400);
    expect(form.body.error.code).toBe("bad_request");
    const charset = await api.post("/api/v1/todos", {
      token: acct.access,
      body: '{"title":"x"}',
      headers: { "content-type": "application/json; charset=utf-8" },
    });
    expect(charset.status).toBe(201);
  });
});

describe("GET/PATCH/DELETE /api/v1/todos/{id}", () => {
  it("PATCH changes each field; description and due_date may be null; updated_at moves, created_at does not", async () => {
    const acct = await newAccount(api);
    const todo = await createTodo(acct, { title: "a", description: "b", due_date: "2026-12-01T00:00:00Z" });
    let previous = todo;
    for (const change of [
      { title: " renamed " },
      { description: null },
      { due_date: null },
      { completed: true },
      { description: "again", due_date: "2027-01-01T00:00:00.000Z" },
    ]) {
      const res = await api.patch(`/api/v1/todos/${todo.id}`, { token: acct.access, json: change });
      expect(res.status, res.text).toBe(200);
      expect(res.body.created_at).toBe(todo.created_at);
      expect(Date.parse(res.body.updated_at)).toBeGreaterThan(Date.parse(previous.updated_at));
      previous = res.body;
    }
    expect(previous).toMatchObject({
      title: "renamed",
      description: "again",
      due_date: "2027-01-01T00:00:00.000Z",
      completed: true,
    });
  });

  it("PATCH with no change (empty body or same values) leaves updated_at alone", async () => {
    const acct = await newAccount(api);
    const todo = await createTodo(acct, { title: "same" });
    const empty = await api.patch(`/api/v1/todos/${todo.id}`, { token: acct.access, json: {} });
    expect(empty.status).toBe(200);
    expect(empty.body).toEqual(todo);
    const same = await api.patch(`/api/v1/todos/${todo.id}`, {
      token: acct.access,
      json: { title: "same", completed: false, description: null },
    });
    expect(same.status).toBe(200);
    expect(same.body.updated_at).toBe(todo.updated_at);
  });

  it("PATCH validation: 422 for null title/completed, unknown fields, bad due_date", async () => {
    const acct = await newAccount(api);
    const todo = await createTodo(acct, { title: "x" });
    for (const [body, path] of [
      [{ title: null }, "title"],
      [{ completed: null }, "completed"],
      [{ done: true }, "done"],
      [{ due_date: "soon" }, "due_date"],
      [{ title: "" }, "title"],
    ] as const) {
      const res = await api.patch(`/api/v1/todos/${todo.id}`, { token: acct.access, json: body });
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(res.body.error.details[0].path).toBe(path);
    }
  });

  it("complete and reopen set completed and bump updated_at", async () => {
    const acct = await newAccount(api);
    const todo = await createTodo(acct, { title: "x" });
    const done = await api.post(`/api/v1/todos/${todo.id}/complete`, { token: acct.access });
    expect(done.status).toBe(200);
    expect(done.body.completed).toBe(true);
    expect(Date.parse(done.body.updated_at)).toBeGreaterThan(Date.parse(todo.updated_at));
    const open = await api.post(`/api/v1/todos/${todo.id}/reopen`, { token: acct.access });
    expect(open.status).toBe(200);
    expect(open.body.completed).toBe(false);
    expect(Date.parse(open.body.updated_at)).toBeGreaterThan(Date.parse(done.body.updated_at));
    expect(open.body.created_at).toBe(todo.created_at);
  });

  it("DELETE is 204, then the todo is 404 everywhere", async () => {
    const acct = await newAccount(api);
    const todo = await createTodo(acct, { title: "x" });
    const del = await api.delete(`/api/v1/todos/${todo.id}`, { token: acct.access });
    expect(del.status).toBe(204);
    expect(del.text).toBe("");
    for (const res of [
      await api.get(`/api/v1/todos/${todo.id}`, { token: acct.access }),
      await api.delete(`/api/v1/todos/${todo.id}`, { token: acct.access }),
      await api.patch(`/api/v1/todos/${todo.id}`, { token: acct.access, json: { title: "y" } }),
      await api.post(`/api/v1/todos/${todo.id}/complete`, { token: acct.access }),
    ]) {
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe("not_found");
    }
  });

  it("ids that are not positive integers are 404", async () => {
    const acct = await newAccount(api);
    for (const id of ["abc", "0", "-1", "1.5", "99999999999999999999", "1e3"]) {
      const res = await api.get(`/api/v1/todos/${id}`, { token: acct.access });
      expect(res.status, id).toBe(404);
      expect(res.body.error.code).toBe("not_found");
    }
  });

  it("another user's todo is 404 on every route, is not listed, and is not changed", async () => {
    const owner = await newAccount(api);
    const intruder = await newAccount(api);
    const todo = await createTodo(owner, { title: "private" });
    const p = `/api/v1/todos/${todo.id}`;
    const t = intruder.access;
    const attempts = [
      await api.get(p, { token: t }),
      await api.patch(p, { token: t, json: { title: "pwned" } }),
      await api.delete(p, { token: t }),
      await api.post(`${p}/complete`, { token: t }),
      await api.post(`${p}/reopen`, { token: t }),
    ];
    for (const res of attempts) {
      expect(res.status).toBe(404);
      expect(res.body).toEqual(attempts[0]!.body);
    }
    const list = await api.get("/api/v1/todos", { token: t });
    expect(list.body).toMatchObject({ items: [], total: 0 });
    const still = await api.get(p, { token: owner.access });
    expect(still.body).toEqual(todo);
  });

  it("every todo route needs a bearer token", async () => {
    const acct = await newAccount(api);
    const todo = await createTodo(acct, { title: "x" });
    const p = `/api/v1/todos/${todo.id}`;
    const attempts = [
      await api.post("/api/v1/todos", { json: { title: "x" } }),
      await api.get("/api/v1/todos"),
      await api.get(p),
      await api.patch(p, { json: { title: "x" } }),
      await api.delete(p),
      await api.post(`${p}/complete`),
      await api.post(`${p}/reopen`),
    ];
    for (const res of attempts) {
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
    }
  });
});

describe("GET /api/v1/todos", () => {
  it("defaults: newest first, limit 20, offset 0, with the total", async () => {
    const acct = await newAccount(api);
    const made = [];
    for (let i = 0; i < 23; i++) made.push(await createTodo(acct, { title: `t${i}` }));
    const res = await api.get("/api/v1/todos", { token: acct.access });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ total: 23, limit: 20, offset: 0 });
    expect(res.body.items.map((t: { id: number }) => t.id)).toEqual(
      made
        .map((t) => t.id)
        .reverse()
        .slice(0, 20),
    );
    const last = await api.get("/api/v1/todos?offset=20", { token: acct.access });
    expect(last.body.items).toHaveLength(3);
    const past = await api.get("/api/v1/todos?offset=100", { token: acct.access });
    expect(past.body).toEqual({ items: [], total: 23, limit: 20, offset: 100 });
  });

  it("filters by completed, with a matching total", async () => {
    const acct = await newAccount(api);
    await createTodo(acct, { title: "a", completed: true });
    await createTodo(acct, { title: "b" });
    await createTodo(acct, { title: "c", completed: true });
    const done = await api.get("/api/v1/todos?completed=true", { token: acct.access });
    expect(done.body.total).toBe(2);
    expect(done.body.items.map((t: { title: string }) => t.title)).toEqual(["c", "a"]);
    const open = await api.get("/api/v1/todos?completed=false", { token: acct.access });
    expect(open.body.total).toBe(1);
    expect(open.body.items[0].title).toBe("b");
    const none = await api.get("/api/v1/todos?completed=true&offset=5", { token: acct.access });
    expect(none.body).toMatchObject({ items: [], total: 2 });
  });

  it("sorts by due_date both ways with undated todos last, ties broken by id", async () => {
    const acct = await newAccount(api);
    const late = await createTodo(acct, { title: "late", due_date: "2027-01-01T00:00:00Z" });
    const none = await createTodo(acct, { title: "none" });
    const early = await createTodo(acct, { title: "early", due_date: "2026-01-01T00:00:00Z" });
    const early2 = await createTodo(acct, { title: "early2", due_date: "2026-01-01T00:00:00Z" });
    const asc = await api.get("/api/v1/todos?sort=due_date", { token: acct.access });
    expect(asc.body.items.map((t: { id: number }) => t.id)).toEqual([early.id, early2.id, late.id, none.id]);
    const desc = await api.get("/api/v1/todos?sort=-due_date", { token: acct.access });
    expect(desc.body.items.map((t: { id: number }) => t.id)).toEqual([late.id, early2.id, early.id, none.id]);
    const oldest = await api.get("/api/v1/todos?sort=created_at", { token: acct.access });
    expect(oldest.body.items.map((t: { id: number }) => t.id)).toEqual([late.id, none.id, early.id, early2.id]);
  });

  it("paging never skips or repeats, even when many todos tie on the sort key", async () => {
    const acct = await newAccount(api);
    for (let i = 0; i < 17; i++)
      await createTodo(acct, {
        title: `t${i}`,
        ...(i % 3 === 0 ? {} : { due_date: `2026-0${(i % 2) + 1}-01T00:00:00Z` }),
      });
    // Force ties on created_at too.
    await sqlClient.query("update todos set created_at = '2026-06-01T00:00:00Z' where user_id = $1", [acct.id]);
    for (const sort of ["created_at", "-created_at", "due_date", "-due_date"]) {
      const all = await api.get(`/api/v1/todos?sort=${sort}&limit=100`, { token: acct.access });
      const expected = all.body.items.map((t: { id: number }) => t.id);
      expect(expected).toHaveLength(17);
      const paged: number[] = [];
      for (let offset = 0; offset < 17; offset += 4) {
        const page = await api.get(`/api/v1/todos?sort=${sort}&limit=4&offset=${offset}`, { token: acct.access });
        expect(page.body.total).toBe(17);
        paged.push(...page.body.items.map((t: { id: number }) => t.id));
      }
      expect(paged, sort).toEqual(expected);
      if (sort.endsWith("created_at")) {
        const byId = [...expected].sort((a, b) => a - b);
        expect(expected).toEqual(sort === "created_at" ? byId : byId.reverse());
      }
    }
  });

  it.each([
    ["limit=0", "limit"],
    ["limit=101", "limit"],
    ["limit=abc", "limit"],
    ["limit=", "limit"],
    ["offset=-1", "offset"],
    ["offset=1.5", "offset"],
    ["completed=yes", "completed"],
    ["sort=title", "sort"],
    ["colour=red", "colour"],
  ])("422 for ?%s", async (query, path) => {
    const acct = await newAccount(api);
    const res = await api.get(`/api/v1/todos?${query}`, { token: acct.access });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe("validation_failed");
    expect(res.body.error.details.map((d: { path: string }) => d.path)).toEqual([path]);
  });

  it("accepts limit 1 and 100", async () => {
    const acct = await newAccount(api);
    expect((await api.get("/api/v1/todos?limit=1", { token: acct.access })).body.limit).toBe(1);
    expect((await api.get("/api/v1/todos?limit=100", { token: acct.access })).body.limit).toBe(100);
  });

  it("400 for a malformed query: bad percent-encoding or a repeated parameter", async () => {
    const acct = await newAccount(api);
    for (const query of ["limit=%zz", "limit=1&limit=2", "sort=%E0%A4%A"]) {
      const res = await api.get(`/api/v1/todos?${query}`, { token: acct.access });
      expect(res.status, query).toBe(400);
      expect(res.body.error.code).toBe("bad_request");
    }
  });
});
