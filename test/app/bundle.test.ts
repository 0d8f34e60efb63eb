import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrations } from "../../app/db/migrations/index.js";
import { buildServer } from "../../release/bundle.js";
import { createTestDatabase } from "../support/database.js";
import { client, newAccount } from "../../harness/support/app-harness.js";

/**
 * The production artefacts as the server runs them: `node server.mjs` / `node migrate.mjs` in a
 * folder whose node_modules holds only what is external (here a link to the repo's).
 */
let outDir: string;
let server: string;
let migrate: string;
let adminCommand: string;
let dbUrl: string;
let drop: () => Promise<void>;
const children: ChildProcess[] = [];

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), "todo-api-bundle-"));
  symlinkSync(resolve("node_modules"), join(outDir, "node_modules"), "dir");
  ({ server, migrate, admin: adminCommand } = await buildServer({ outDir }));
  const db = await createTestDatabase();
  dbUrl = db.url;
  drop = db.drop;
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  await drop?.();
  rmSync(outDir, { recursive: true, force: true });
});

const prodEnv = () => ({
  PATH: process.env.PATH ?? "",
  NODE_ENV: "production",
  DATABASE_URL: dbUrl,
  JWT_SECRET: "bundle-test-secret-0123456789abcdef-0123456789",
  HOST: "127.0.0.1",
  PORT: "0",
  BCRYPT_COST: "4",
});

function runMigrate(command: string) {
  const r = spawnSync(process.execPath, [migrate, command], { env: prodEnv(), encoding: "utf8" });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Starts server.mjs; resolves with its URL and a way to wait for log lines. */
async function startBundle() {
  const child = spawn(process.execPath, [server], { env: prodEnv(), stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  const lines: Record<string, unknown>[] = [];
  const waiters: { match: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] =
    [];
  createInterface({ input: child.stdout! }).on("line", (text) => {
    const line = JSON.parse(text) as Record<string, unknown>;
    lines.push(line);
    for (const w of waiters.splice(0)) w.match(line) ? w.resolve(line) : waiters.push(w);
  });
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  const waitFor = (match: (l: Record<string, unknown>) => boolean) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const found = lines.find(match);
      if (found) return resolve(found);
      waiters.push({ match, resolve });
      child.once("exit", (code) =>
        reject(new Error(`server exited (${code}) before the expected log line; stderr: ${stderr}`)),
      );
    });
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const listening = await waitFor((l) => l.msg === "listening");
  return { child, url: String(listening.url), lines, waitFor, exited };
}

describe("dist/migrate.mjs", () => {
  it("status, up, down, up against PostgreSQL", () => {
    expect(runMigrate("status").out).toMatch(/pending\s+0001_initial/);
    const up = runMigrate("up");
    expect(up.code, up.err).toBe(0);
    expect(up.out).toContain("applied 0001_initial");
    expect(runMigrate("up").out).toContain("already up to date");
    expect(runMigrate("status").out).toMatch(/applied \d{4}-.*0001_initial/);
    expect(runMigrate("down").out).toContain(`reverted ${Object.keys(migrations).at(-1)}`);
    expect(runMigrate("up").code).toBe(0);
    expect(runMigrate("sideways").code).toBe(2);
  });
});

describe("dist/server.mjs", () => {
  it("refuses to start in production without DATABASE_URL and JWT_SECRET, listing both", () => {
    const r = spawnSync(process.execPath, [server], {
      env: { PATH: process.env.PATH ?? "", NODE_ENV: "production" },
      encoding: "utf8",
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("DATABASE_URL");
    expect(r.stderr).toContain("JWT_SECRET");
  });

  it("serves the API and the docs, and on SIGTERM stops accepting but finishes the request in flight", async () => {
    const app = await startBundle();
    const api = client(app.url);
    expect((await api.get("/readyz")).status).toBe(200);
    const bundle = await fetch(`${app.url}/docs/swagger-ui-bundle.js`);
    expect(bundle.status).toBe(200);
    expect((await bundle.text()).length).toBeGreaterThan(100_000);
    const acct = await newAccount(api);

    // A request whose headers the server has accepted (100 Continue) but whose body is not sent yet.
    const url = new URL(app.url);
    const req = http.request({
      host: url.hostname,
      port: url.port,
      method: "POST",
      path: "/api/v1/todos",
      // Kept alive like Nginx's upstream connections: shutdown must not wait for its idle timeout.
      agent: new http.Agent({ keepAlive: true }),
      headers: {
        authorization: `Bearer ${acct.access}`,
        "content-type": "application/json",
        expect: "100-continue",
        "transfer-encoding": "chunked",
      },
    });
    const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
      req.on("response", (res) => {
        let body = "";
        res.on("data", (d) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on("error", reject);
    });
    await new Promise<void>((r) => req.once("continue", () => r()));
    req.write('{"title":');

    app.child.kill("SIGTERM");
    await app.waitFor((l) => l.msg === "shutting down");
    // A new connection is refused once the listener is closed (requests on kept-alive ones are
    // still answered, with Connection: close). The log line comes just before the close, so a
    // connection racing it may still be accepted or reset: try again until one is refused.
    const attempt = () =>
      new Promise<string>((resolve) => {
        http
          .get(`${app.url}/healthz`, { agent: false }, (res) => {
            res.resume();
            resolve(`answered ${res.statusCode}`);
          })
          .on("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
      });
    const outcomes: string[] = [];
    for (let i = 0; i < 50 && outcomes.at(-1) !== "ECONNREFUSED"; i++) {
      outcomes.push(await attempt());
      if (outcomes.at(-1) !== "ECONNREFUSED") await new Promise((r) => setTimeout(r, 20));
    }
    expect(outcomes.at(-1), outcomes.join(", ")).toBe("ECONNREFUSED");

    req.end('"finished during shutdown"}');
    const res = await response;
    expect(res.status).toBe(201);
    expect(JSON.parse(res.body).title).toBe("finished during shutdown");
    expect(await app.exited).toBe(0);
    expect(app.lines.some((l) => l.msg === "server stopped")).toBe(true);
  });
});

describe("dist/admin.mjs", () => {
  it("makes the first administrator, who can then use the admin API and sign in to the bundled console", async () => {
    expect(runMigrate("up").code).toBe(0);
    const app = await startBundle();
    const api = client(app.url);
    const acct = await newAccount(api);
    expect((await api.get("/api/v1/admin/stats", { token: acct.access })).status).toBe(403);
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [adminCommand, ...args], { env: prodEnv(), encoding: "utf8" });
    expect(run().status).toBe(2);
    const promoted = run("promote", acct.username);
    expect(promoted.status, promoted.stderr).toBe(0);
    expect(promoted.stdout).toContain("now an administrator");
    expect((await api.get("/api/v1/admin/stats", { token: acct.access })).status).toBe(200);
    const login = await fetch(`${app.url}/admin/login`);
    expect(login.status).toBe(200);
    expect(await login.text()).toContain('<form method="post" action="/admin/login">');
    app.child.kill("SIGTERM");
    await app.exited;
  });
});
