import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../support/database.js";
import { requireTool } from "../support/tools.js";
import { freePort, renderedFiles, run, runAsync, variants } from "./helpers.js";
import { backupEnv, dropWithCopies } from "./backup-database.js";

const pgDump = requireTool("pg_dump");
const curl = requireTool("curl");

/**
 * todo-restore never leaves the API down: after the swap the current release's migrations run on
 * the restored database and every instance must answer /readyz; if either fails the previous
 * database is swapped back. The app stand-in is an HTTP server in this process whose /readyz
 * answers from the live database (ready once migrated to version 2, never while a table named
 * `poison` exists); the release command stand-in migrates that database. Off-site restores check
 * the space before anything is downloaded.
 */
const dir = mkdtempSync(join(tmpdir(), "todo-restore-safety-"));
const backups = join(dir, "backups");
const script = join(dir, "todo-restore");
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let dbName = "";
let env: NodeJS.ProcessEnv = {};
let app: Server;

const connect = async (database = dbName) => {
  const url = new URL(db.url);
  url.pathname = `/${database}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  return client;
};
const query = async (sql: string) => {
  const client = await connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
};
const restore = (args: string[], extra: NodeJS.ProcessEnv = {}) =>
  runAsync("bash", [script, ...args], { env: { ...env, ...extra } });
const dumpTo = (name: string) =>
  expect(run("pg_dump", ["--format=custom", `--file=${join(backups, name)}`, dbName], { env }).status).toBe(0);
const systemctlLog = () => readFileSync(join(dir, "systemctl.log"), "utf8").trim().split("\n");

beforeAll(async () => {
  db = await createTestDatabase();
  const url = new URL(db.url);
  dbName = url.pathname.slice(1);
  const port = await freePort();
  const files = renderedFiles(variants["local, no domain"]!);
  writeFileSync(script, files.get("/usr/local/sbin/todo-restore")!.content);
  chmodSync(script, 0o755);
  writeFileSync(
    join(dir, "host.conf"),
    files.get("/etc/todo-host.conf")!.content.replace(/^APP_PORTS=.*$/m, `APP_PORTS='${port}'`),
  );
  writeFileSync(join(dir, "systemctl"), `#!/bin/sh\necho "$*" >>"${dir}/systemctl.log"\n`);
  // the release command's migrations: version 2 of the schema (MIGRATE_FAIL: a migration that fails)
  writeFileSync(
    join(dir, "todo-release"),
    `#!/bin/sh
echo "$*" >>"${dir}/release.log"
[ "$1" = migrate ] || exit 2
[ -z "\${MIGRATE_FAIL:-}" ] || { echo "migration 0002 failed" >&2; exit 1; }
psql -X -q -v ON_ERROR_STOP=1 -d "${dbName}" -c "create table if not exists schema_version (v int); delete from schema_version; insert into schema_version values (2)"
`,
  );
  for (const f of ["systemctl", "todo-release"]) chmodSync(join(dir, f), 0o755);
  mkdirSync(backups, { recursive: true });
  env = {
    ...backupEnv(db.url, { dir, backups }),
    TODO_DB_ROLE: decodeURIComponent(url.username),
    TODO_RUN_AS_POSTGRES: "",
    TODO_LOCK_FILE: join(dir, "release.lock"),
    TODO_RELEASE_CMD: join(dir, "todo-release"),
    TODO_READY_TIMEOUT: "4",
    TODO_BACKUP_RESERVE_BYTES: String(1024 * 1024),
    TODO_RESTORE_WAL_BYTES: String(1024 * 1024),
    SYSTEMCTL: join(dir, "systemctl"),
  };
  app = createServer(async (req, res) => {
    let ready = false;
    try {
      const rows = await query(
        "select (select max(v) from schema_version) as v, to_regclass('public.poison') is not null as poisoned",
      );
      ready = rows[0].v === 2 && !rows[0].poisoned;
    } catch {}
    res.writeHead(req.url === "/readyz" && ready ? 200 : 503).end();
  });
  await new Promise<void>((resolve) => app.listen(port, "127.0.0.1", resolve));
  await query(`create table todos (id serial primary key, title text not null);
    insert into todos (title) values ('buy milk'), ('ship it');`);
  dumpTo(`${dbName}-20260101T000000Z.dump`); // before migration 2
  await query("create table schema_version (v int); insert into schema_version values (2);");
});

afterAll(async () => {
  app?.close();
  if (db) await dropWithCopies(db);
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(pgDump.missing || curl.missing)("todo-restore keeps the API up", () => {
  it("runs the current release's migrations on a dump older than the last one, then waits for /readyz", async () => {
    await query("insert into todos (title) values ('after the dump')");
    const r = await restore(["latest"]);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(dir, "release.log"), "utf8")).toContain("migrate");
    expect(await query("select v from schema_version")).toEqual([{ v: 2 }]);
    expect((await query("select title from todos order by id")).map((row) => row.title)).toEqual([
      "buy milk",
      "ship it",
    ]);
    expect(r.stderr).toContain("migrated, every instance ready");
  });

  it("puts the previous database back, and starts the app on it, when the migrations fail", async () => {
    await query("insert into todos (title) values ('written after the restore')");
    rmSync(join(dir, "systemctl.log"), { force: true });
    const r = await restore(["latest"], { MIGRATE_FAIL: "1" });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("the migrations failed on the restored database");
    expect(r.stderr).toContain("is back as it was before the restore and the app is serving from it");
    expect((await query("select title from todos order by id")).map((row) => row.title)).toContain(
      "written after the restore",
    );
    expect(systemctlLog().at(-1)).toMatch(/^start todo-api@\d+$/);
  });

  it("puts the previous database back when the app does not become ready on the restored one", async () => {
    await query("create table poison (x int)");
    dumpTo(`${dbName}-20260102T000000Z.dump`);
    await query("drop table poison");
    const r = await restore([join(backups, `${dbName}-20260102T000000Z.dump`)]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("the app did not become ready on the restored database");
    expect(await query("select to_regclass('public.poison') as t")).toEqual([{ t: null }]);
    expect((await query("select title from todos order by id")).map((row) => row.title)).toContain(
      "written after the restore",
    );
    rmSync(join(backups, `${dbName}-20260102T000000Z.dump`));
  });

  it("never takes a dump dated in the future as the latest", async () => {
    writeFileSync(join(backups, `${dbName}-20991231T000000Z.dump`), "written by a clock a year ahead");
    const r = await restore(["latest"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`restoring ${join(backups, `${dbName}-20260101T000000Z.dump`)}`);
    rmSync(join(backups, `${dbName}-20991231T000000Z.dump`));
  });

  it("checks the space before downloading an off-site dump, and downloads nothing without it", async () => {
    const client = join(dir, "offsite.mjs");
    writeFileSync(
      client,
      `import { appendFileSync } from "node:fs";
const [command] = process.argv.slice(2);
if (command === "list") console.log("postgres/${dbName}-20260103T000000Z.dump\\t${2 ** 50}\\t2026-01-03T00:00:00Z");
else { appendFileSync(${JSON.stringify(join(dir, "downloads.log"))}, process.argv.slice(2).join(" ") + "\\n"); process.exit(1); }
`,
    );
    const before = await query("select title from todos order by id");
    const r = await restore(["offsite:latest"], {
      OFFSITE_BUCKET: "todo-api-dev-backups",
      TODO_OFFSITE_CLIENT: client,
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(
      /bytes free in .*, (restoring|downloading) tos:\/\/todo-api-dev-backups\/postgres\/.* needs \d+/,
    );
    expect(existsSync(join(dir, "downloads.log"))).toBe(false);
    expect(await query("select title from todos order by id")).toEqual(before);
  });
});
