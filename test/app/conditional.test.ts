import pg from "pg";
import { describe, expect, it } from "vitest";
import { apiSuite } from "../support/api-suite.js";
import { newAccount, type Account } from "../../harness/support/app-harness.js";

/** v1.1: version, ETag, If-None-Match → 304, If-Match → 412. */
const suite = apiSuite();
const { api } = suite;

async function newTodo(acct: Account) {
  const res = await api.post("/api/v1/todos", { token: acct.access, json: { title: "Draft" } });
  expect(res.status).toBe(201);
  return res;
}

describe("versions and ETags", () => {
  it("version is 1 at creation and +1 on every real change; every single-todo response sends ETag", async () => {
    const acct = await newAccount(api);
    const created = await newTodo(acct);
    expect(created.body.version).toBe(1);
    expect(created.headers.get("etag")).toBe('"1"');
    const id = created.body.id;
    const got = await api.get(`/api/v1/todos/${id}`, { token: acct.access });
    expect(got.headers.get("etag")).toBe('"1"');
    const patched = await api.patch(`/api/v1/todos/${id}`, { token: acct.access, json: { title: "Final" } });
    expect(patched.body.version).toBe(2);
    expect(patched.headers.get("etag")).toBe('"2"');
    // No change, no new version.
    const same = await api.patch(`/api/v1/todos/${id}`, { token: acct.access, json: { title: "Final" } });
    expect(same.body.version).toBe(2);
    const done = await api.post(`/api/v1/todos/${id}/complete`, { token: acct.access });
    expect([done.body.version, done.headers.get("etag")]).toEqual([3, '"3"']);
    const again = await api.post(`/api/v1/todos/${id}/complete`, { token: acct.access });
    expect(again.body.version).toBe(3);
    const reopened = await api.post(`/api/v1/todos/${id}/reopen`, { token: acct.access });
    expect(reopened.body.version).toBe(4);
    const list = await api.get("/api/v1/todos", { token: acct.access });
    expect(list.body.items[0].version).toBe(4);
    expect(list.headers.get("etag")).toBeNull();
  });

  it("If-None-Match with the current ETag is 304 without a body; a stale one gets the todo", async () => {
    const acct = await newAccount(api);
    const { body: todo } = await newTodo(acct);
    const notModified = await api.get(`/api/v1/todos/${todo.id}`, {
      token: acct.access,
      headers: { "if-none-match": '"1"' },
    });
    expect(notModified.status).toBe(304);
    expect(notModified.text).toBe("");
    expect(notModified.headers.get("etag")).toBe('"1"');
    expect(notModified.headers.get("cache-control")).toBe("private, no-cache");
    expect(
      (await api.get(`/api/v1/todos/${todo.id}`, { token: acct.access, headers: { "if-none-match": 'W/"1", "7"' } }))
        .status,
    ).toBe(304);
    await api.patch(`/api/v1/todos/${todo.id}`, { token: acct.access, json: { title: "new" } });
    const modified = await api.get(`/api/v1/todos/${todo.id}`, {
      token: acct.access,
      headers: { "if-none-match": '"1"' },
    });
    expect(modified.status).toBe(200);
    expect(modified.body.title).toBe("new");
  });

  it("If-Match that does not name the current version is 412 precondition_failed and changes nothing", async () => {
    const acct = await newAccount(api);
    const { body: todo } = await newTodo(acct);
    const url = `/api/v1/todos/${todo.id}`;
    await api.patch(url, { token: acct.access, json: { title: "v2" } });
    for (const ifMatch of ['"1"', '"stale"', 'W/"2"', "garbage"]) {
      const writes = [
        api.patch(url, { token: acct.access, json: { title: "lost update" }, headers: { "if-match": ifMatch } }),
        api.patch(url, { token: acct.access, json: {}, headers: { "if-match": ifMatch } }),
        api.post(`${url}/complete`, { token: acct.access, headers: { "if-match": ifMatch } }),
        api.post(`${url}/reopen`, { token: acct.access, headers: { "if-match": ifMatch } }),
        api.delete(url, { token: acct.access, headers: { "if-match": ifMatch } }),
      ];
      for (const res of await Promise.all(writes)) {
        expect(res.status, `${ifMatch}: ${res.text}`).toBe(412);
        expect(res.body.error.code).toBe("precondition_failed");
      }
    }
    const now = await api.get(url, { token: acct.access });
    expect(now.body).toMatchObject({ title: "v2", completed: false, version: 2 });
  });

  it("If-Match with the current version (or *) applies; without it the last write wins", async () => {
    const acct = await newAccount(api);
    const { body: todo } = await newTodo(acct);
    const url = `/api/v1/todos/${todo.id}`;
    const ok = await api.patch(url, { token: acct.access, json: { title: "a" }, headers: { "if-match": '"5", "1"' } });
    expect([ok.status, ok.body.version]).toEqual([200, 2]);
    expect((await api.post(`${url}/complete`, { token: acct.access, headers: { "if-match": "*" } })).body.version).toBe(
      3,
    );
    expect((await api.patch(url, { token: acct.access, json: { title: "b" } })).status).toBe(200);
    // Two clients that both read version 4: the first write wins, the second learns of the conflict.
    const [first, second] = [
      await api.patch(url, { token: acct.access, json: { title: "phone" }, headers: { "if-match": '"4"' } }),
      await api.patch(url, { token: acct.access, json: { title: "tablet" }, headers: { "if-match": '"4"' } }),
    ];
    expect([first.status, second.status]).toEqual([200, 412]);
    expect((await api.delete(url, { token: acct.access, headers: { "if-match": '"5"' } })).status).toBe(204);
  });

  it("a missing or another user's todo is still 404 with If-Match", async () => {
    const acct = await newAccount(api);
    const other = await newAccount(api);
    const { body: todo } = await newTodo(other);
    expect(
      (
        await api.patch(`/api/v1/todos/${todo.id}`, {
          token: acct.access,
          json: { title: "x" },
          headers: { "if-match": '"1"' },
        })
      ).status,
    ).toBe(404);
    expect(
      (await api.delete(`/api/v1/todos/999999999`, { token: acct.access, headers: { "if-match": "*" } })).status,
    ).toBe(404);
  });
});

describe("deleting the account while another device writes", () => {
  it("takes the locks in the writers' order: a write holding its todo finishes, then the account goes (no deadlock)", async () => {
    const acct = await newAccount(api);
    const { body: todo } = await newTodo(acct);
    const writer = new pg.Client({ connectionString: suite.dbUrl });
    await writer.connect();
    try {
      // A write that has locked its todo row but not yet reached the owner row (the trigger's step).
      await writer.query("begin");
      await writer.query("select 1 from todos where id = $1 for update", [todo.id]);
      const deletion = api.delete("/api/v1/users/me", { token: acct.access });
      await new Promise((r) => setTimeout(r, 300));
      await writer.query("update todos set title = 'written meanwhile' where id = $1", [todo.id]);
      await writer.query("commit");
      expect((await deletion).status).toBe(204);
    } finally {
      await writer.end();
    }
  });

  it("never deadlocks into a 500: writes succeed or get 401/404, the deletion 204", async () => {
    for (let round = 0; round < 5; round++) {
      const acct = await newAccount(api);
      const ids: number[] = [];
      for (let i = 0; i < 5; i++) ids.push((await newTodo(acct)).body.id);
      const writes = ids.flatMap((id) => [
        api.patch(`/api/v1/todos/${id}`, { token: acct.access, json: { title: `edit ${round}` } }),
        api.post(`/api/v1/todos/${id}/complete`, { token: acct.access }),
        api.post("/api/v1/todos", { token: acct.access, json: { title: "racing" } }),
      ]);
      const [deleted, ...rest] = await Promise.all([api.delete("/api/v1/users/me", { token: acct.access }), ...writes]);
      expect(deleted.status).toBe(204);
      for (const r of rest) expect([200, 201, 401, 404], r.text).toContain(r.status);
    }
  });
});
