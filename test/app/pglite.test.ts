import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DataDirInUseError, openDatabase } from "../../app/db/database.js";
import { client, newAccount, startTestApp, type Client, type TestApp } from "../../harness/support/app-harness.js";

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
    const dup = await api.post("/api/v1/users", {
      json: { username: acct.username.toUpperCase(), email: "x@example.com", password: "password123" },
    });
    expect(dup.status).toBe(409);
    const todo = await api.post("/api/v1/todos", {
      token: acct.access,
      json: { title: "embedded", due_date: "2026-12-01T00:00:00Z" },
    });
    expect(todo.status).toBe(201);
    const patched = await api.patch(`/api/v1/todos/${todo.body.id}`, {
      token: acct.access,
      json: { description: "works" },
    });
    expect(patched.status).toBe(200);
    expect(Date.parse(patched.body.updated_at)).toBeGreaterThan(Date.parse(todo.body.updated_at));
    expect((await api.post(`/api/v1/todos/${todo.body.id}/complete`, { token: acct.access })).body.completed).toBe(
      true,
    );
    const list = await api.get("/api/v1/todos?sort=due_date", { token: acct.access });
    expect(list.body).toMatchObject({ total: 1, items: [{ id: todo.body.id, completed: true, description: "works" }] });
    const empty = await api.get("/api/v1/todos?offset=10", { token: acct.access });
    expect(empty.body).toMatchObject({ items: [], total: 1 });

    const rotated = await api.post("/api/v1/auth/refresh", { json: { refresh_token: acct.refresh } });
    expect(rotated.status).toBe(200);
    // Presented again within the grace window (v1.1): another pair of the same login.
    expect((await api.post("/api/v1/auth/refresh", { json: { refresh_token: acct.refresh } })).status).toBe(200);
    expect(
      (await api.post("/api/v1/auth/refresh", { json: { refresh_token: rotated.body.refresh_token } })).status,
    ).toBe(200);
    const changes = await api.get("/api/v1/todos/changes", { token: acct.access });
    expect(changes.body.changes).toEqual([
      { type: "upsert", todo: expect.objectContaining({ id: todo.body.id, version: 3 }) },
    ]);

    const pw = await api.put("/api/v1/users/me/password", {
      token: acct.access,
      json: { current_password: acct.password, new_password: "another password" },
    });
    expect(pw.status).toBe(204);
    expect((await api.delete("/api/v1/users/me", { token: acct.access })).status).toBe(204);
    expect((await api.get("/api/v1/todos", { token: acct.access })).status).toBe(401);
  });

  it("serialises concurrent requests on its single connection", async () => {
    const acct = await newAccount(api);
    const results = await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        api.post("/api/v1/todos", { token: acct.access, json: { title: `parallel ${i}` } }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(results.map(() => 201));
    const [list, ...refreshes] = await Promise.all([
      api.get("/api/v1/todos?limit=100", { token: acct.access }),
      api.post("/api/v1/auth/refresh", { json: { refresh_token: acct.refresh } }),
      api.post("/api/v1/auth/refresh", { json: { refresh_token: acct.refresh } }),
    ]);
    expect(list.body.total).toBe(25);
    // Two concurrent uses of one refresh token: serialised on the row lock; the second is inside
    // the grace window (v1.1), so both get a pair.
    expect(refreshes.map((r) => r.status)).toEqual([200, 200]);
  });

  it("refuses a second opener of the same data folder while the app holds it", async () => {
    await expect(openDatabase({ kind: "pglite", dataDir: join(dataDir, "pglite") })).rejects.toBeInstanceOf(
      DataDirInUseError,
    );
  });

  it("keeps the data in DATA_DIR across restarts, taking over the lock of a dead process", async () => {
    const acct = await newAccount(api);
    await api.post("/api/v1/todos", { token: acct.access, json: { title: "persisted" } });
    await app.close();
    writeFileSync(join(dataDir, "pglite.lock"), "2147483646"); // as if killed with -9: no such process
    app = await startTestApp({ env: { DATA_DIR: dataDir } });
    api = client(app.url);
    const login = await api.post("/api/v1/auth/token", { form: { username: acct.username, password: acct.password } });
    expect(login.status).toBe(200);
    const list = await api.get("/api/v1/todos", { token: login.body.access_token });
    expect(list.body.items.map((t: { title: string }) => t.title)).toEqual(["persisted"]);
    await app.close();
  });
});

describe("PGlite Kysely driver", () => {
  it("commits, rolls back on error, supports savepoints, serialises transactions, parses bigint", async () => {
    const h = await openDatabase({ kind: "pglite", dataDir: join(dataDir, "pglite") });
    try {
      await sql`create table driver_t (v int)`.execute(h.db);
      await h.db.transaction().execute(async (trx) => {
        await sql`insert into driver_t values (1)`.execute(trx);
      });
      await expect(
        h.db.transaction().execute(async (trx) => {
          await sql`insert into driver_t values (2)`.execute(trx);
          throw new Error("boom");
        }),
      ).rejects.toThrow("boom");
      const trx = await h.db.startTransaction().execute();
      await sql`insert into driver_t values (3)`.execute(trx);
      const sp = await trx.savepoint("sp1").execute();
      await sql`insert into driver_t values (4)`.execute(sp);
      await sp.rollbackToSavepoint("sp1").execute();
      await trx.commit().execute();
      // Concurrent read-modify-write transactions: serialised, so no update is lost.
      await sql`create table driver_counter (n int)`.execute(h.db);
      await sql`insert into driver_counter values (0)`.execute(h.db);
      await Promise.all(
        Array.from({ length: 10 }, () =>
          h.db.transaction().execute(async (t) => {
            const { rows } = await sql<{ n: number }>`select n from driver_counter`.execute(t);
            await sql`update driver_counter set n = ${rows[0]!.n + 1}`.execute(t);
          }),
        ),
      );
      const { rows } = await sql<{ v: number }>`select v from driver_t order by v`.execute(h.db);
      expect(rows.map((r) => r.v)).toEqual([1, 3]);
      const { rows: counter } = await sql<{ n: number }>`select n from driver_counter`.execute(h.db);
      expect(counter[0]!.n).toBe(10);
      const { rows: big } = await sql<{ n: number }>`select 9007199254740991::bigint as n`.execute(h.db);
      expect(big[0]!.n).toBe(Number.MAX_SAFE_INTEGER);
    } finally {
      await h.close();
    }
  });
});
