import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildServer } from "../../release/bundle.js";
import { client, newAccount, startTestApp, TEST_JWT_SECRET } from "../../harness/support/app-harness.js";
import { createTestDatabase } from "../support/database.js";
import { renderedFiles, run, variants } from "./helpers.js";

/**
 * `todo-admin` as the server kit installs it (rendered, comments stripped), run on a temp tree laid
 * out like /opt/todo-api: the production build's admin.mjs in `current`, the app's settings in
 * its env file, against a real PostgreSQL.
 */
const dir = mkdtempSync(join(tmpdir(), "todo-admin-"));
const root = join(dir, "opt");
const envFile = join(dir, "env");
const command = join(dir, "todo-admin");
let db: { url: string; drop: () => Promise<void> };

beforeAll(async () => {
  const rendered = renderedFiles(variants["local, no domain"]!);
  const file = rendered.get("/usr/local/sbin/todo-admin");
  expect(file?.mode).toBe(0o755);
  writeFileSync(command, file!.content, { mode: 0o755 });
  db = await createTestDatabase();
}, 60_000);

afterAll(async () => {
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
});

const admin = (...args: string[]) =>
  run("bash", [command, ...args], {
    env: {
      PATH: process.env.PATH,
      TODO_HOST_CONF: join(dir, "none"),
      TODO_ROOT: root,
      TODO_ENV_FILE: envFile,
      TODO_NODE: process.execPath,
      TODO_RUN_AS: "",
    },
  });

describe("todo-admin", () => {
  it("says what is missing before a release is installed", () => {
    const r = admin("list");
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("no release is installed");
    expect(admin().status).toBe(2);
  });

  it("refuses a current release without the admin command (an older release)", () => {
    const old = join(root, "releases", "0123456789ab");
    mkdirSync(old, { recursive: true });
    writeFileSync(join(old, "RELEASE"), "0123456789ab\n");
    symlinkSync("releases/0123456789ab", join(root, "current"));
    const r = admin("list");
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("has no admin command");
    rmSync(join(root, "current"));
  });

  it("runs the production build's admin.mjs with the app's settings: promote makes an administrator, audited", async () => {
    const release = join(root, "releases", "aaaaaaaaaaaa");
    mkdirSync(release, { recursive: true });
    await buildServer({ outDir: release });
    symlinkSync(resolve("node_modules"), join(release, "node_modules"), "dir");
    writeFileSync(join(release, "RELEASE"), "aaaaaaaaaaaa\n");
    symlinkSync("releases/aaaaaaaaaaaa", join(root, "current"));
    // The app's env file as todo-release writes it; the API (same database) makes the account.
    writeFileSync(envFile, `DATABASE_URL=${db.url}\nJWT_SECRET=${TEST_JWT_SECRET}\n# a comment\n`);
    const app = await startTestApp({ databaseUrl: db.url });
    try {
      const acct = await newAccount(client(app.url));
      expect(admin("list").stdout).toContain("no administrators yet");
      const r = admin("promote", acct.username);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain("now an administrator");
      expect((await client(app.url).get("/api/v1/admin/users", { token: acct.access })).status).toBe(200);
      expect(admin("list").stdout).toContain(acct.username);
      const sql = new pg.Client({ connectionString: db.url });
      await sql.connect();
      try {
        const { rows } = await sql.query("select actor_id, action, target_id::int, client_address from audit_log");
        expect(rows).toEqual([{ actor_id: null, action: "user.role", target_id: acct.id, client_address: "cli" }]);
      } finally {
        await sql.end();
      }
      const missing = admin("promote", "nobody_here");
      expect(missing.status).toBe(1);
      expect(missing.stderr).toContain("no account named");
    } finally {
      await app.close();
    }
  });
});
