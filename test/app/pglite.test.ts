import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client, newAccount, startTestApp, type Client, type TestApp } from "../support/app-harness.js";

/** The default path: no DATABASE_URL → embedded PGlite persisted in DATA_DIR. */
let dataDir: string;
let app: TestApp;
let api: Client;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "todo-api-pglite-"));
  app = await startTestApp({ env: { DATA_DIR: dataDir, RATE_LIMIT_PER_MINUTE: "1000" } });
  api = client(app.url);
});

afterAll(async () => {
  await app?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("embedded PGlite", () => {
  it("says so at start-up", () => {
    expect(app.server.database.kind).toBe("pglite");
    const line = app.logs.map((l) => JSON.parse(l)).find((l) => /embedded PGlite/.test(l.msg));
    expect(line?.msg).toContain(join(dataDir, "pglite"));
  });

  it("runs the account, session and todo flows", async () => {
    const acct = await newAccount(api);
    const dup = await api.post("/api/v1/users", { json: { username: acct.username.toUpperCase(), email: "x@example.com", password: "password123" } });
    expect(dup.status).toBe(409);
    const todo = await api.post("/api/v1/todos", { token: acct.access, json: { title: "embedded", due_date: "2026-12-01T00:00:00Z" } });
    expect(todo.status).toBe(201);
    const patched = await api.patch(`/api/v1/todos/${todo.body.id}`, { token: acct.access, json: { description: "works" } });
    expect(patched.status).toBe(200);
    expect(Date.parse(patched.body.updated_at)).toBeGreaterThan(Date.parse(todo.body.updated_at));
    expect((await api.post(`/api/v1/todos/${todo.body.id}/complete`, { token: acct.access })).body.completed).toBe(true);
    const list = await api.get("/api/v1/todos?sort=due_date", { token: acct.access });
    expect(list.body).toMatchObject({ total: 1, items: [{ id: todo.body.id, completed: true, description: "works" }] });
    const empty = await api.get("/api/v1/todos?offset=10", { token: acct.access });
    expect(empty.body).toMatchObject({ items: [], total: 1 });

    const rotated = await api.post("/api/v1/auth/refresh", { json: { refresh_token: acct.refresh } });
    expect(rotated.status).toBe(200);
    expect((await api.post("/api/v1/auth/refresh", { json: { refresh_token: acct.refresh } })).status).toBe(401);
    expect((await api.post("/api/v1/auth/refresh", { json: { refresh_token: rotated.body.refresh_token } })).status).toBe(401);

    const pw = await api.put("/api/v1/users/me/password", { token: acct.access, json: { current_password: acct.password, new_password: "another password" } });
    expect(pw.status).toBe(204);
    expect((await api.delete("/api/v1/users/me", { token: acct.access })).status).toBe(204);
    expect((await api.get("/api/v1/todos", { token: acct.access })).status).toBe(401);
  });

  it("serialises concurrent requests on its single connection", async () => {
    const acct = await newAccount(api);
    const results = await Promise.all(
      Array.from({ length: 25 }, (_, i) => api.post("/api/v1/todos", { token: acct.access, json: { title: `parallel ${i}` } })),
    );
    expect(results.map((r) => r.status)).toEqual(results.map(() => 201));
    const [list, ...refreshes] = await Promise.all([
      api.get("/api/v1/todos?limit=100", { token: acct.access }),
      api.post("/api/v1/auth/refresh", { json: { refresh_token: acct.refresh } }),
      api.post("/api/v1/auth/refresh", { json: { refresh_token: acct.refresh } }),
    ]);
    expect(list.body.total).toBe(25);
    // Two concurrent uses of one refresh token: at most one can win.
    expect(refreshes.filter((r) => r.status === 200).length).toBeLessThanOrEqual(1);
  });

  it("keeps the data in DATA_DIR across restarts", async () => {
    const acct = await newAccount(api);
    await api.post("/api/v1/todos", { token: acct.access, json: { title: "persisted" } });
    await app.close();
    app = await startTestApp({ env: { DATA_DIR: dataDir } });
    api = client(app.url);
    const login = await api.post("/api/v1/auth/token", { form: { username: acct.username, password: acct.password } });
    expect(login.status).toBe(200);
    const list = await api.get("/api/v1/todos", { token: login.body.access_token });
    expect(list.body.items.map((t: { title: string }) => t.title)).toEqual(["persisted"]);
  });
});

describe("embedded PGlite data folder", () => {
  it("can be opened by one process at a time; a stale lock is taken over", async () => {
    const { openDatabase, DataDirInUseError } = await import("../../app/db/database.js");
    const { writeFileSync } = await import("node:fs");
    const dir = join(dataDir, "pglite");
    // The app from the tests above holds it.
    await expect(openDatabase({ kind: "pglite", dataDir: dir })).rejects.toBeInstanceOf(DataDirInUseError);
    const other = mkdtempSync(join(tmpdir(), "todo-api-pglite-lock-"));
    try {
      writeFileSync(join(other, "pglite.lock"), "2147483646"); // no such process
      const h = await openDatabase({ kind: "pglite", dataDir: join(other, "pglite") });
      await h.ping();
      await h.close();
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
});
