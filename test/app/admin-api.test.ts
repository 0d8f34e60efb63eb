import { describe, expect, it } from "vitest";
import { runAdminCli } from "../../app/admin-cli.js";
import { loadConfig } from "../../app/config.js";
import { apiSuite } from "../support/api-suite.js";
import { createTestDatabase } from "../support/database.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { client, newAccount, startTestApp, TEST_JWT_SECRET, type Account } from "../../harness/support/app-harness.js";

/** Roles and the /api/v1/admin routes, attacked the way a hostile or unlucky client would. */
const suite = apiSuite({}, {});
const { api, sql } = suite;
const api2 = suite.clients[1]!;

const cli = (...argv: string[]) => {
  const out: string[] = [];
  const config = loadConfig({ NODE_ENV: "test", DATABASE_URL: suite.dbUrl, JWT_SECRET: TEST_JWT_SECRET });
  return runAdminCli(
    argv,
    config,
    (s) => out.push(s),
    (s) => out.push(s),
  ).then((code) => ({ code, out: out.join("") }));
};

async function newAdmin(): Promise<Account> {
  const acct = await newAccount(api);
  const { code, out } = await cli("promote", acct.username);
  expect(code, out).toBe(0);
  return acct;
}

const ADMIN_ROUTES = (id: number): Array<[string, string, unknown?]> => [
  ["GET", "/api/v1/admin/users"],
  ["GET", `/api/v1/admin/users/${id}`],
  ["POST", `/api/v1/admin/users/${id}/disable`],
  ["POST", `/api/v1/admin/users/${id}/enable`],
  ["POST", `/api/v1/admin/users/${id}/revoke-sessions`],
  ["POST", `/api/v1/admin/users/${id}/role`, { role: "admin" }],
  ["DELETE", `/api/v1/admin/users/${id}`],
  ["GET", "/api/v1/admin/stats"],
  ["GET", "/api/v1/admin/audit"],
];

const callAs = (acct: Account | undefined, [method, path, json]: [string, string, unknown?], c = api) =>
  c[method.toLowerCase() as "get"](path, { ...(acct ? { token: acct.access } : {}), ...(json ? { json } : {}) });

const auditOf = async (targetId: number) =>
  (
    await sql.query(
      "select actor_id::int, action, target_id::int, client_address, at from audit_log where target_id = $1 order by id",
      [targetId],
    )
  ).rows as Array<{ actor_id: number | null; action: string; target_id: number; client_address: string; at: Date }>;

describe("the admin API", () => {
  it("a user's token is 403 forbidden on every admin route, and changes nothing; no token is 401", async () => {
    const user = await newAccount(api);
    const victim = await newAccount(api);
    for (const route of ADMIN_ROUTES(victim.id)) {
      const res = await callAs(user, route);
      expect(res.status, `${route[0]} ${route[1]}`).toBe(403);
      expect(res.body.error.code).toBe("forbidden");
      expect((await callAs(undefined, route)).status).toBe(401);
    }
    const [row] = (await sql.query("select role, disabled_at from users where id = $1", [victim.id])).rows;
    expect(row).toEqual({ role: "user", disabled_at: null });
    expect((await sql.query("select role from users where id = $1", [user.id])).rows[0].role).toBe("user");
    expect(await auditOf(victim.id)).toEqual([]);
  });

  it("the first admin is made on the server only: the CLI promotes, the API never lets a user promote itself", async () => {
    const user = await newAccount(api);
    expect(
      (await api.post(`/api/v1/admin/users/${user.id}/role`, { token: user.access, json: { role: "admin" } })).status,
    ).toBe(403);
    expect((await cli("promote", "no_such_user")).code).toBe(1);
    expect((await cli("promote")).code).toBe(2);
    const promoted = await cli("promote", user.email.toUpperCase());
    expect(promoted.out).toContain("now an administrator");
    // The same token: the role is read from the database, so it works at once.
    expect((await api.get("/api/v1/admin/stats", { token: user.access })).status).toBe(200);
    expect((await cli("promote", user.username)).out).toContain("already");
    expect((await cli("list")).out).toContain(user.username);
    expect(await auditOf(user.id)).toMatchObject([{ actor_id: null, action: "user.role", client_address: "cli" }]);
  });

  it("the admin command refuses a database without this release's migrations, saying what to run", async () => {
    const fresh = await createTestDatabase();
    try {
      const out: string[] = [];
      const config = loadConfig({ NODE_ENV: "test", DATABASE_URL: fresh.url, JWT_SECRET: TEST_JWT_SECRET });
      expect(
        await runAdminCli(
          ["list"],
          config,
          (s) => out.push(s),
          (s) => out.push(s),
        ),
      ).toBe(1);
      expect(out.join("")).toContain("run `migrate up` first");
    } finally {
      await fresh.drop();
    }
  });

  it("a demoted admin's very next request is 403, on every server", async () => {
    const boss = await newAdmin();
    const admin = await newAdmin();
    expect((await api2.get("/api/v1/admin/users", { token: admin.access })).status).toBe(200);
    const demoted = await api.post(`/api/v1/admin/users/${admin.id}/role`, {
      token: boss.access,
      json: { role: "user" },
    });
    expect(demoted.status).toBe(200);
    expect(demoted.body.role).toBe("user");
    for (const c of [api, api2]) expect((await c.get("/api/v1/admin/users", { token: admin.access })).status).toBe(403);
    // still a user in good standing
    expect((await api.get("/api/v1/users/me", { token: admin.access })).status).toBe(200);
  });

  it("disabling stops the account's tokens at once (both servers), login is 403 account_disabled, enable lets it back", async () => {
    const admin = await newAdmin();
    const user = await newAccount(api);
    expect((await api2.get("/api/v1/todos", { token: user.access })).status).toBe(200);
    const res = await api.post(`/api/v1/admin/users/${user.id}/disable`, { token: admin.access });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: user.id, disabled: true, role: "user", todo_count: 0 });
    for (const c of [api, api2]) {
      expect((await c.get("/api/v1/todos", { token: user.access })).status).toBe(401);
      expect((await c.get("/api/v1/users/me", { token: user.access })).status).toBe(401);
      const batch = await c.post("/api/v1/todos/batch", {
        token: user.access,
        json: { operations: [{ op: "create", body: { title: "x" } }] },
        headers: { "idempotency-key": "k" },
      });
      expect(batch.status).toBe(401);
    }
    expect((await api.post("/api/v1/auth/refresh", { json: { refresh_token: user.refresh } })).status).toBe(401);
    const login = await api.post("/api/v1/auth/token", { json: { username: user.username, password: user.password } });
    expect(login.status).toBe(403);
    expect(login.body.error.code).toBe("account_disabled");
    // a wrong password still says only 401: a guesser learns nothing about the account
    expect(
      (await api.post("/api/v1/auth/token", { json: { username: user.username, password: "wrong password" } })).status,
    ).toBe(401);
    expect((await api.post(`/api/v1/admin/users/${user.id}/enable`, { token: admin.access })).body.disabled).toBe(
      false,
    );
    const again = await api.post("/api/v1/auth/token", { json: { username: user.username, password: user.password } });
    expect(again.status).toBe(200);
    expect((await api.get("/api/v1/todos", { token: again.body.access_token })).status).toBe(200);
    expect((await sql.query("select count(*)::int as n from todos where user_id = $1", [user.id])).rows[0].n).toBe(0);
  });

  it("revoke-sessions signs the user out everywhere: access and refresh tokens refused, a new login works", async () => {
    const admin = await newAdmin();
    const user = await newAccount(api);
    expect((await api.post(`/api/v1/admin/users/${user.id}/revoke-sessions`, { token: admin.access })).status).toBe(
      204,
    );
    expect((await api.get("/api/v1/users/me", { token: user.access })).status).toBe(401);
    expect((await api2.get("/api/v1/users/me", { token: user.access })).status).toBe(401);
    expect((await api.post("/api/v1/auth/refresh", { json: { refresh_token: user.refresh } })).status).toBe(401);
    await new Promise((r) => setTimeout(r, 1100)); // `iat` has whole seconds: a token of the revoking second is refused too
    const login = await api.post("/api/v1/auth/token", { json: { username: user.username, password: user.password } });
    expect((await api.get("/api/v1/users/me", { token: login.body.access_token })).status).toBe(200);
  });

  it("the last enabled admin cannot demote, disable or delete themselves (409); two admins demoting each other at once leave one", async () => {
    await sql.query("update users set role = 'user' where role = 'admin'");
    const only = await newAdmin();
    for (const route of [
      ["POST", `/api/v1/admin/users/${only.id}/role`, { role: "user" }],
      ["POST", `/api/v1/admin/users/${only.id}/disable`],
      ["DELETE", `/api/v1/admin/users/${only.id}`],
    ] as Array<[string, string, unknown?]>) {
      const res = await callAs(only, route);
      expect(res.status, route[1]).toBe(409);
      expect(res.body.error.code).toBe("conflict");
    }
    expect((await cli("demote", only.username)).code).toBe(1);
    const other = await newAdmin();
    const [a, b] = await Promise.all([
      api.post(`/api/v1/admin/users/${other.id}/role`, { token: only.access, json: { role: "user" } }),
      api2.post(`/api/v1/admin/users/${only.id}/role`, { token: other.access, json: { role: "user" } }),
    ]);
    const statuses = [a.status, b.status].sort();
    // one wins; the other is 409 (last admin) or 403 (already demoted when its request was checked)
    expect(statuses[0]).toBe(200);
    expect([403, 409]).toContain(statuses[1]);
    const admins = (
      await sql.query("select count(*)::int as n from users where role = 'admin' and disabled_at is null")
    ).rows[0].n;
    expect(admins).toBe(1);
  });

  it("deleting an account in the middle of its requests: they end 200/201 or 401, never 500, and nothing of it is left", async () => {
    const admin = await newAdmin();
    for (let round = 0; round < 3; round++) {
      const user = await newAccount(api);
      const todo = (await api.post("/api/v1/todos", { token: user.access, json: { title: "t" } })).body;
      const ops = Array.from({ length: 100 }, (_, i) =>
        i % 2 ? { op: "update", id: todo.id, body: { title: `t${i}` } } : { op: "create", body: { title: `c${i}` } },
      );
      const inFlight = [
        api.post("/api/v1/todos/batch", { token: user.access, json: { operations: ops } }),
        api2.post("/api/v1/todos/batch", { token: user.access, json: { operations: ops } }),
        ...Array.from({ length: 10 }, (_, i) =>
          (i % 2 ? api : api2).post("/api/v1/todos", {
            token: user.access,
            json: { title: "x" },
            headers: { "idempotency-key": `k${i}` },
          }),
        ),
        api.get("/api/v1/todos/changes", { token: user.access }),
      ];
      await new Promise((r) => setTimeout(r, 5 * round));
      const del = await api.delete(`/api/v1/admin/users/${user.id}`, { token: admin.access });
      expect(del.status).toBe(204);
      for (const res of await Promise.all(inFlight)) expect([200, 201, 401], res.text).toContain(res.status);
      for (const table of ["todos", "refresh_tokens", "idempotency_keys", "todo_tombstones"]) {
        const { rows } = await sql.query(`select count(*)::int as n from ${table} where user_id = $1`, [user.id]);
        expect(rows[0].n, table).toBe(0);
      }
      expect((await api.get("/api/v1/todos", { token: user.access })).status).toBe(401);
      expect((await api.get(`/api/v1/admin/users/${user.id}`, { token: admin.access })).status).toBe(404);
    }
  });

  it("every admin action leaves one audit row: who, what, target, when, from where", async () => {
    const admin = await newAdmin();
    const user = await newAccount(api);
    const before = Date.now() - 1000;
    const actions: Array<[string, string, unknown?]> = [
      ["POST", `/api/v1/admin/users/${user.id}/disable`],
      ["POST", `/api/v1/admin/users/${user.id}/enable`],
      ["POST", `/api/v1/admin/users/${user.id}/revoke-sessions`],
      ["POST", `/api/v1/admin/users/${user.id}/role`, { role: "admin" }],
      ["POST", `/api/v1/admin/users/${user.id}/role`, { role: "user" }],
      ["DELETE", `/api/v1/admin/users/${user.id}`],
    ];
    for (const route of actions) expect((await callAs(admin, route)).status).toBeLessThan(300);
    // reads and refused actions are not actions
    await callAs(admin, ["GET", "/api/v1/admin/users"]);
    await callAs(admin, ["POST", "/api/v1/admin/users/999999999/disable"]);
    const rows = await auditOf(user.id);
    expect(rows.map((r) => r.action)).toEqual([
      "user.disable",
      "user.enable",
      "user.revoke_sessions",
      "user.role",
      "user.role",
      "user.delete",
    ]);
    for (const r of rows) {
      expect(r.actor_id).toBe(admin.id);
      expect(r.target_id).toBe(user.id);
      expect(r.client_address).toBe("127.0.0.1");
      expect(r.at.getTime()).toBeGreaterThan(before);
    }
    const page = await api.get("/api/v1/admin/audit?limit=6", { token: admin.access });
    expect(page.status).toBe(200);
    expect(page.body.items[0]).toMatchObject({
      actor_id: admin.id,
      actor_username: admin.username,
      action: "user.delete",
      target_id: user.id,
      target_username: user.username,
      client_address: "127.0.0.1",
    });
    expect(page.body.items[0].at).toMatch(/Z$/);
  });

  it("lists and searches accounts with paging and a disabled filter; stats count sign-ups per day", async () => {
    const admin = await newAdmin();
    const tag = `find${Date.now().toString(36)}`;
    const found: Account[] = [];
    for (let i = 0; i < 3; i++) {
      const acct = await newAccount(api);
      await sql.query("update users set username = $1 where id = $2", [`${tag}_${i}`, acct.id]);
      found.push(acct);
    }
    const page1 = await api.get(`/api/v1/admin/users?q=${tag.toUpperCase()}&limit=2`, { token: admin.access });
    expect(page1.body.total).toBe(3);
    expect(page1.body.items.map((u: { id: number }) => u.id)).toEqual([found[2]!.id, found[1]!.id]);
    const page2 = await api.get(`/api/v1/admin/users?q=${tag}&limit=2&offset=2`, { token: admin.access });
    expect(page2.body.items.map((u: { id: number }) => u.id)).toEqual([found[0]!.id]);
    expect((await api.get(`/api/v1/admin/users?q=${tag}&offset=10`, { token: admin.access })).body).toMatchObject({
      items: [],
      total: 3,
    });
    expect((await api.get("/api/v1/admin/users?q=%25", { token: admin.access })).body.total).toBe(0);
    await api.post(`/api/v1/admin/users/${found[0]!.id}/disable`, { token: admin.access });
    const disabled = await api.get(`/api/v1/admin/users?q=${tag}&disabled=true`, { token: admin.access });
    expect(disabled.body.items.map((u: { id: number }) => u.id)).toEqual([found[0]!.id]);
    for (const bad of ["limit=0", "limit=101", "disabled=maybe", "offset=-1", "bogus=1"])
      expect((await api.get(`/api/v1/admin/users?${bad}`, { token: admin.access })).status, bad).toBe(422);
    const stats = await api.get("/api/v1/admin/stats", { token: admin.access });
    expect(stats.status).toBe(200);
    const { rows } = await sql.query("select count(*)::int as n from users");
    expect(stats.body.users).toBe(rows[0].n);
    expect(stats.body.signups_per_day).toHaveLength(30);
    expect(stats.body.signups_per_day.at(-1).count).toBeGreaterThanOrEqual(4);
    expect(stats.body.active_users_7d).toBeGreaterThanOrEqual(4);
  });
});

describe("npm run admin on the embedded database", () => {
  it("promotes an account of a stopped local server; the server, started again, knows the admin; a running one keeps the folder locked", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "todo-admin-pglite-"));
    try {
      const env = { DATA_DIR: dataDir };
      let app = await startTestApp({ env });
      const acct = await newAccount(client(app.url));
      const config = loadConfig({ NODE_ENV: "test", DATA_DIR: dataDir, JWT_SECRET: TEST_JWT_SECRET });
      const out: string[] = [];
      // While the server runs, the embedded database is its alone: the command says so and changes nothing.
      expect(
        await runAdminCli(
          ["promote", acct.username],
          config,
          (s) => out.push(s),
          (s) => out.push(s),
        ).catch((e) => String(e)),
      ).not.toBe(0);
      await app.close();
      expect(
        await runAdminCli(
          ["promote", acct.username],
          config,
          (s) => out.push(s),
          (s) => out.push(s),
        ),
      ).toBe(0);
      app = await startTestApp({ env });
      try {
        expect((await client(app.url).get("/api/v1/admin/stats", { token: acct.access })).status).toBe(200);
      } finally {
        await app.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
