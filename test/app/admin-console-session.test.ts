import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runAdminCli } from "../../app/admin-cli.js";
import { loadConfig } from "../../app/config.js";
import { client, newAccount, startTestApp, TEST_JWT_SECRET, type TestApp } from "../../harness/support/app-harness.js";
import { createTestDatabase } from "../support/database.js";

/**
 * The console's cookie over plain HTTP and behind an HTTPS proxy, and what an API token is worth
 * there (nothing). One server trusts 127.0.0.1 as its proxy (like Nginx on a server); one trusts none.
 */
let db: { url: string; drop: () => Promise<void> };
let behindProxy: TestApp;
let direct: TestApp;

beforeAll(async () => {
  db = await createTestDatabase();
  behindProxy = await startTestApp({ databaseUrl: db.url, env: { TRUSTED_PROXIES: "127.0.0.1" } });
  direct = await startTestApp({ databaseUrl: db.url });
});
afterAll(async () => {
  await behindProxy?.close();
  await direct?.close();
  await db?.drop();
});

async function signIn(app: TestApp, headers: Record<string, string> = {}) {
  const acct = await newAccount(client(app.url));
  const config = loadConfig({ NODE_ENV: "test", DATABASE_URL: db.url, JWT_SECRET: TEST_JWT_SECRET });
  expect(
    await runAdminCli(
      ["promote", acct.username],
      config,
      () => {},
      () => {},
    ),
  ).toBe(0);
  const res = await fetch(`${app.url}/admin/login`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams({ username: acct.username, password: acct.password }),
  });
  expect(res.status).toBe(303);
  return { acct, cookie: res.headers.get("set-cookie") ?? "" };
}

const page = (app: TestApp, path: string, cookie: string) =>
  fetch(`${app.url}${path}`, { redirect: "manual", headers: { cookie: `todo_admin_session=${cookie}` } });

describe("the admin console's session cookie", () => {
  it("is HttpOnly, SameSite=Strict, scoped to /admin; Secure only when the client used HTTPS (as a trusted proxy says)", async () => {
    const plain = (await signIn(behindProxy)).cookie;
    expect(plain).toMatch(/^todo_admin_session=[^;]+; Max-Age=28800; Path=\/admin; HttpOnly; SameSite=Strict$/);
    expect((await signIn(behindProxy, { "x-forwarded-proto": "https" })).cookie).toContain("; Secure");
    // The same header from a client that is not a trusted proxy proves nothing.
    expect((await signIn(direct, { "x-forwarded-proto": "https" })).cookie).not.toContain("Secure");
  });

  it("is no API token, and an API token is no console session", async () => {
    const { acct, cookie } = await signIn(direct);
    const session = cookie.split(";")[0]!.split("=")[1]!;
    expect((await client(direct.url).get("/api/v1/admin/users", { token: session })).status).toBe(401);
    const withApiToken = await page(direct, "/admin/users", acct.access);
    expect(withApiToken.status).toBe(303);
    expect(withApiToken.headers.get("location")).toBe("/admin/login");
    const ok = await page(direct, "/admin/users", session);
    expect(ok.status).toBe(200);
    expect(ok.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(ok.headers.get("cache-control")).toBe("no-store");
    expect(await ok.text()).not.toContain("<script");
  });
});

describe("the console's actions", () => {
  it("enable, revoke and delete go through confirmation forms, are audited, and the last admin cannot disable themselves", async () => {
    const { acct: me, cookie } = await signIn(direct);
    const session = cookie.split(";")[0]!.split("=")[1]!;
    const api = client(direct.url);
    const target = await newAccount(api);
    const form = async (action: string, id = target.id) => {
      const confirm = await page(direct, `/admin/users/${id}/confirm/${action}`, session);
      expect(confirm.status).toBe(200);
      const csrf = /name="csrf" value="([^"]+)"/.exec(await confirm.text())![1]!;
      return fetch(`${direct.url}/admin/users/${id}/${action}`, {
        method: "POST",
        redirect: "manual",
        headers: {
          cookie: `todo_admin_session=${session}`,
          "content-type": "application/x-www-form-urlencoded",
          origin: direct.url,
        },
        body: new URLSearchParams({ csrf }),
      });
    };
    for (const action of ["disable", "enable", "revoke"]) {
      const res = await form(action);
      expect(res.status, action).toBe(303);
      expect(res.headers.get("location")).toBe(`/admin/users/${target.id}?done=${action}`);
    }
    expect((await api.get("/api/v1/users/me", { token: target.access })).status).toBe(401); // revoked
    expect((await form("delete")).headers.get("location")).toBe("/admin/users");
    expect((await page(direct, `/admin/users/${target.id}`, session)).status).toBe(404);
    // Demote every other admin of this database, so this one is the last.
    const config = loadConfig({ NODE_ENV: "test", DATABASE_URL: db.url, JWT_SECRET: TEST_JWT_SECRET });
    const admins = (await client(direct.url).get(`/api/v1/admin/users?limit=100`, { token: me.access })).body
      .items as Array<{ username: string; role: string; id: number }>;
    for (const a of admins)
      if (a.role === "admin" && a.id !== me.id)
        await runAdminCli(
          ["demote", a.username],
          config,
          () => {},
          () => {},
        );
    const refused = await form("disable", me.id);
    expect(refused.status).toBe(409);
    expect(await refused.text()).toContain("last enabled administrator");
    const audit = (await api.get("/api/v1/admin/audit?limit=100", { token: me.access })).body.items as Array<{
      action: string;
      target_id: number;
      actor_id: number;
    }>;
    expect(
      audit
        .filter((e) => e.target_id === target.id && e.actor_id === me.id)
        .map((e) => e.action)
        .reverse(),
    ).toEqual(["user.disable", "user.enable", "user.revoke_sessions", "user.delete"]);
  });
});
