import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runAdminCli } from "../../app/admin-cli.js";
import { loadConfig } from "../../app/config.js";
import pg from "pg";
import {
  client,
  newAccount,
  startTestApp,
  TEST_JWT_SECRET,
  type Account,
  type TestApp,
} from "../../harness/support/app-harness.js";
import { createTestDatabase } from "../support/database.js";
import { requireTool } from "../support/tools.js";

/**
 * The admin console in a real browser: Debian's Chromium driven by playwright-core, with
 * JavaScript turned off (the console must not need it). A screenshot of every page goes to
 * test-results/admin/ (kept by CI as an artifact).
 */
const browserTool = requireTool("chromium");
let app: TestApp;
let db: { url: string; drop: () => Promise<void> };
let sqlClient: pg.Client;
let url = "";
const api = client(() => url);
const sql = { query: (text: string, values?: unknown[]) => sqlClient.query(text, values) };
const promote = (...argv: string[]) =>
  runAdminCli(
    argv,
    loadConfig({ NODE_ENV: "test", DATABASE_URL: db.url, JWT_SECRET: TEST_JWT_SECRET }),
    () => {},
    () => {},
  );
const SHOTS = resolve("test-results/admin");

let browser: Browser;
let admin: Account;
let victim: Account;

beforeAll(async () => {
  if (browserTool.missing) return;
  mkdirSync(SHOTS, { recursive: true });
  db = await createTestDatabase();
  app = await startTestApp({ databaseUrl: db.url });
  url = app.url;
  sqlClient = new pg.Client({ connectionString: db.url });
  await sqlClient.connect();
  browser = await chromium.launch({ executablePath: browserTool.path!, args: ["--no-sandbox", "--disable-gpu"] });
  admin = await newAccount(api);
  expect(await promote("promote", admin.username)).toBe(0);
  for (let i = 0; i < 24; i++) await newAccount(api);
  victim = await newAccount(api);
  await sql.query("update users set username = $1 where id = $2", ["mallory_spammer", victim.id]);
  victim.username = "mallory_spammer";
  await api.post("/api/v1/todos", { token: victim.access, json: { title: "spam" } });
  // a few sign-ups on earlier days, so the chart has more than one bar
  await sql.query(
    "update users set created_at = now() - make_interval(days => (id % 9)::int) where id <> $1 and id <> $2",
    [admin.id, victim.id],
  );
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await sqlClient?.end();
  await app?.close();
  await db?.drop();
});

const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

describe.skipIf(browserTool.missing)("the admin console in Chromium, without JavaScript", () => {
  it("signs in, searches, disables a user after confirming, and the user's API calls fail; every page screenshotted", async () => {
    const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1200, height: 800 } });
    const page = await context.newPage();
    const cspViolations: string[] = [];
    page.on("console", (m) => {
      if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
    });

    const first = await page.goto(`${url}/admin`);
    expect(page.url()).toBe(`${url}/admin/login`);
    expect(first?.status()).toBe(200);
    const csp = (await first!.allHeaders())["content-security-policy"] ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain("script-src");
    expect(csp).not.toContain("unsafe-inline");
    await shot(page, "01-sign-in");

    // a wrong password and a user who is not an admin are refused
    await page.fill("input[name=username]", admin.username);
    await page.fill("input[name=password]", "not the password");
    await page.click("button[type=submit]");
    await expect(page.textContent(".notice.error")).resolves.toContain("Wrong username or password");
    await page.fill("input[name=username]", victim.username);
    await page.fill("input[name=password]", victim.password);
    await page.click("button[type=submit]");
    await expect(page.textContent(".notice.error")).resolves.toContain("not an administrator");

    await page.fill("input[name=username]", admin.username);
    await page.fill("input[name=password]", admin.password);
    await page.click("button[type=submit]");
    expect(page.url()).toBe(`${url}/admin/users`);
    const [cookie] = await context.cookies();
    expect(cookie).toMatchObject({ name: "todo_admin_session", path: "/admin", httpOnly: true, sameSite: "Strict" });
    expect(await page.locator("tbody tr").count()).toBe(20);
    await expect(page.textContent(".paging")).resolves.toContain("Page 1 of 2");
    await shot(page, "02-users");

    await page.fill("input[name=q]", "MALLORY");
    await page.click("form.search button");
    expect(await page.locator("tbody tr").count()).toBe(1);
    await shot(page, "03-search");

    await page.click("text=mallory_spammer");
    expect(page.url()).toBe(`${url}/admin/users/${victim.id}`);
    await shot(page, "04-user");

    await page.click("text=Disable…");
    expect(page.url()).toBe(`${url}/admin/users/${victim.id}/confirm/disable`);
    await shot(page, "05-confirm-disable");
    // Nothing happened yet: a confirmation page is only a page.
    expect((await api.get("/api/v1/users/me", { token: victim.access })).status).toBe(200);

    await page.click("text=Yes, disable");
    expect(page.url()).toBe(`${url}/admin/users/${victim.id}?done=disable`);
    await expect(page.textContent(".notice")).resolves.toContain("The account is disabled.");
    await shot(page, "06-disabled");

    // The disabled user's app: the token it holds stops, and signing in says why.
    const call = await api.get("/api/v1/todos", { token: victim.access });
    expect(call.status).toBe(401);
    const login = await api.post("/api/v1/auth/token", {
      json: { username: victim.username, password: victim.password },
    });
    expect(login.status).toBe(403);
    expect(login.body.error.code).toBe("account_disabled");

    await page.click("text=Audit log");
    const firstRow = await page.textContent("tbody tr:first-child");
    expect(firstRow).toContain("user.disable");
    expect(firstRow).toContain("mallory_spammer");
    expect(firstRow).toContain(admin.username);
    expect(firstRow).toContain("127.0.0.1");
    await shot(page, "07-audit");

    await page.click("text=Statistics");
    expect(await page.locator("svg.chart rect.bar").count()).toBe(30);
    await expect(page.textContent(".figures")).resolves.toContain("Accounts");
    await shot(page, "08-stats");

    expect(cspViolations).toEqual([]);
    await page.click("text=Sign out");
    expect(page.url()).toBe(`${url}/admin/login`);
    await page.goto(`${url}/admin/users`);
    expect(page.url()).toBe(`${url}/admin/login`);
    await context.close();
  });

  it("refuses forms without the session's token or from another site, and a demoted admin's session at once", async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    const other = await newAccount(api);
    expect(await promote("promote", other.username)).toBe(0);
    await page.goto(`${url}/admin/login`);
    await page.fill("input[name=username]", other.username);
    await page.fill("input[name=password]", other.password);
    await page.click("button[type=submit]");
    const [cookie] = await context.cookies();
    const target = await newAccount(api);
    const post = (body: string, headers: Record<string, string> = {}) =>
      fetch(`${url}/admin/users/${target.id}/disable`, {
        method: "POST",
        redirect: "manual",
        headers: {
          cookie: `${cookie!.name}=${cookie!.value}`,
          "content-type": "application/x-www-form-urlencoded",
          ...headers,
        },
        body,
      });
    expect((await post("")).status).toBe(403);
    expect((await post("csrf=forged")).status).toBe(403);
    const csrf = await page
      .goto(`${url}/admin/users/${target.id}/confirm/disable`)
      .then(() => page.getAttribute("input[name=csrf]", "value"));
    expect((await post(`csrf=${csrf}`, { origin: "https://evil.example" })).status).toBe(403);
    expect((await api.get("/api/v1/users/me", { token: target.access })).status).toBe(200);
    expect((await post(`csrf=${csrf}`)).status).toBe(303);
    expect((await api.get("/api/v1/users/me", { token: target.access })).status).toBe(401);
    // demoted on the server: the next page is the sign-in page
    expect(await promote("demote", other.username)).toBe(0);
    await page.goto(`${url}/admin/users`);
    expect(page.url()).toBe(`${url}/admin/login`);
    await context.close();
  });
});
