import { spawn } from "node:child_process";
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../support/database.js";
import { readyInstances, renderedFiles, run, runAsync, variants } from "./helpers.js";
import { requireTool } from "../support/tools.js";
import { backupEnv, dropWithCopies } from "./backup-database.js";

const pgDump = requireTool("pg_dump");

/**
 * todo-backup and todo-restore as cloud-init installs them, against the test run's real
 * PostgreSQL. On the server they reach the database as `postgres` over its socket; here the same
 * libpq settings come from PG* variables.
 */
const dir = mkdtempSync(join(tmpdir(), "todo-backup-"));
const backups = join(dir, "backups");
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let dbName = "";
let env: NodeJS.ProcessEnv = {};
let instances: Awaited<ReturnType<typeof readyInstances>> | undefined;
let ports: number[] = [];

const script = (name: string) => join(dir, name);
const query = async (sql: string) => {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
};

beforeAll(async () => {
  db = await createTestDatabase();
  const url = new URL(db.url);
  dbName = url.pathname.slice(1);
  const files = renderedFiles(variants["local, no domain"]!);
  for (const name of ["todo-backup", "todo-restore"]) {
    writeFileSync(script(name), files.get(`/usr/local/sbin/${name}`)!.content);
    chmodSync(script(name), 0o755);
  }
  // app instances that answer /readyz, and a release command whose migrations succeed (todo-restore runs them)
  instances = await readyInstances(2);
  ports = instances.ports;
  writeFileSync(
    join(dir, "host.conf"),
    files.get("/etc/todo-host.conf")!.content.replace(/^APP_PORTS=.*$/m, `APP_PORTS='${ports.join(" ")}'`),
  );
  writeFileSync(join(dir, "todo-release"), `#!/bin/sh\necho "$*" >>"${dir}/release.log"\n[ "$1" = migrate ]\n`);
  chmodSync(join(dir, "todo-release"), 0o755);
  writeFileSync(join(dir, "systemctl"), `#!/bin/sh\necho "$*" >>"${dir}/systemctl.log"\n`);
  chmodSync(join(dir, "systemctl"), 0o755);
  env = {
    ...backupEnv(db.url, { dir, backups }),
    TODO_DB_ROLE: decodeURIComponent(url.username),
    TODO_RUN_AS_POSTGRES: "",
    TODO_LOCK_FILE: join(dir, "release.lock"),
    SYSTEMCTL: join(dir, "systemctl"),
    TODO_RELEASE_CMD: join(dir, "todo-release"),
  };
  await query(`create table todos (id serial primary key, title text not null);
    insert into todos (title) values ('buy milk'), ('ship it');`);
});

afterAll(async () => {
  instances?.stop();
  if (db) await dropWithCopies(db);
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(pgDump.missing)("todo-backup and todo-restore", () => {
  it("todo-backup writes a compressed custom-format dump and prunes dumps past the retention", () => {
    const day = 24 * 3600;
    const now = Date.now() / 1000;
    run("mkdir", ["-p", backups]);
    const old = join(backups, `${dbName}-20200101T000000Z.dump`);
    const recent = join(backups, `${dbName}-20200102T000000Z.dump`);
    const other = join(backups, "notes.txt");
    for (const f of [old, recent, other]) writeFileSync(f, "x");
    utimesSync(old, now - 8 * day, now - 8 * day); // retention is 7 days
    utimesSync(recent, now - 6 * day, now - 6 * day);
    utimesSync(other, now - 30 * day, now - 30 * day);

    const r = run("bash", [script("todo-backup")], { env });
    expect(r.status, r.stderr).toBe(0);
    const dumps = readdirSync(backups).filter((f) => /^\w+-\d{8}T\d{6}Z\.dump$/.test(f) && !f.includes("2020"));
    expect(dumps).toHaveLength(1);
    // (besides the dumps: the status file and the sizes the next space estimate starts from)
    expect(readdirSync(backups).sort()).toEqual(
      [dumps[0], `${dbName}-20200102T000000Z.dump`, "notes.txt", "status", ".last-dump-sizes"].sort(),
    );
    expect(r.stderr).toContain("older than 7 days");
    const dump = join(backups, dumps[0]!);
    expect(readFileSync(dump).subarray(0, 5).toString()).toBe("PGDMP"); // custom format
    const list = run("pg_restore", ["--list", dump], { env });
    expect(list.stdout).toContain("TABLE public todos");
    rmSync(recent);
  });

  it("todo-restore latest brings the data back with the app stopped meanwhile", async () => {
    await query(`delete from todos where title = 'ship it'; create table junk (x int);`);
    const r = run("bash", [script("todo-restore"), "latest"], { env });
    expect(r.status, r.stderr).toBe(0);
    expect((await query("select title from todos order by id")).map((row) => row.title)).toEqual([
      "buy milk",
      "ship it",
    ]);
    expect(await query("select to_regclass('public.junk') as t")).toEqual([{ t: null }]);
    // the contents before the restore are kept aside, not lost
    const saved = await query(`select datname from pg_database where datname like '${dbName}\\_before\\_restore\\_%'`);
    expect(saved).toHaveLength(1);
    expect(r.stderr).toContain(`kept in database ${saved[0]!.datname}`);
    expect(readFileSync(join(dir, "systemctl.log"), "utf8").trim().split("\n")).toEqual([
      `is-active todo-api@${ports[0]}.socket`,
      `stop todo-api@${ports[0]}`,
      `is-active todo-api@${ports[1]}.socket`,
      `stop todo-api@${ports[1]}`,
      `start todo-api@${ports[0]}`,
      `start todo-api@${ports[1]}`,
    ]);
  });

  it("a restore that fails midway changes nothing", async () => {
    rmSync(join(dir, "systemctl.log"), { force: true });
    await query("insert into todos (title) values ('after backup')");
    // a dump that cannot be restored here: it grants to a role that no longer exists
    const role = `${dbName}_reader`;
    await query(`create role ${role}; grant select on todos to ${role};`);
    const other = join(dir, "other");
    expect(run("bash", [script("todo-backup")], { env: { ...env, TODO_BACKUP_DIR: other } }).status).toBe(0);
    await query(`revoke select on todos from ${role}; drop role ${role};`);
    const cut = join(other, readdirSync(other).find((f) => f.endsWith(".dump"))!);
    const r = run("bash", [script("todo-restore"), cut], { env });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("unchanged");
    expect((await query("select count(*)::int as n from todos"))[0]).toEqual({ n: 3 });
    expect(await query(`select datname from pg_database where datname like '${dbName}\\_restore\\_%'`)).toEqual([]);
    expect(() => readFileSync(join(dir, "systemctl.log"))).toThrow();
  });

  it("todo-restore refuses a file that is not a dump and leaves the app alone", () => {
    rmSync(join(dir, "systemctl.log"), { force: true });
    const junk = join(dir, "junk.dump");
    writeFileSync(junk, "not a dump");
    const r = run("bash", [script("todo-restore"), junk], { env });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("not a pg_dump custom-format archive");
    expect(run("bash", [script("todo-restore")], { env }).stderr).toContain("usage");
    expect(() => readFileSync(join(dir, "systemctl.log"))).toThrow();
  });
});

// These restore the dumps the suite above wrote with pg_dump: without it there is nothing to restore.
describe.skipIf(pgDump.missing)("todo-restore and todo-backup edges", () => {
  it("todo-restore waits for the release lock, so no deploy restarts instances during the swap", async () => {
    const holder = spawn("flock", [join(dir, "release.lock"), "sleep", "2"], { stdio: "ignore" });
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    const r = await runAsync("bash", [script("todo-restore"), "latest"], { env });
    expect(r.status, r.stderr).toBe(0);
    expect(Date.now() - started).toBeGreaterThan(1_200);
    holder.kill();
  });

  it("drops a staged copy a killed restore left, and saved copies older than the one it keeps", async () => {
    const admin = new pg.Client({ connectionString: new URL("/postgres", db.url).toString() });
    await admin.connect();
    await admin.query(`create database "${dbName}_restore_20200101000000"`);
    await admin.query(`create database "${dbName}_before_restore_20200101000000"`);
    await admin.end();
    const r = run("bash", [script("todo-restore"), "latest"], { env });
    expect(r.status, r.stderr).toBe(0);
    const left = await query(`select datname from pg_database where datname like '${dbName}\\_%' order by 1`);
    expect(left).toHaveLength(1);
    expect(left[0]!.datname).toMatch(new RegExp(`^${dbName}_before_restore_\\d{14}$`));
    expect(left[0]!.datname).not.toContain("2020");
  });

  it("todo-restore refuses to stage a copy without room for it on the database's disk, and changes nothing", async () => {
    rmSync(join(dir, "systemctl.log"), { force: true });
    const before = await query("select title from todos order by id");
    const databases = async () =>
      (await query(`select datname from pg_database where datname like '${dbName}%' order by 1`)).map((r) => r.datname);
    const existing = await databases();
    // PostgreSQL's data directory on a 64 KiB file system: less than twice the database
    const small = join(dir, "small-data");
    mkdirSync(small, { recursive: true });
    expect(run("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", small]).status).toBe(0);
    try {
      const r = run("bash", [script("todo-restore"), "latest"], { env: { ...env, TODO_PG_DATA_DIR: small } });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(
        new RegExp(`error: \\d+ bytes free in .*small-data, restoring .*\\.dump needs \\d+ .*; ${dbName} is unchanged`),
      );
    } finally {
      run("umount", [small]);
    }
    expect(await query("select title from todos order by id")).toEqual(before);
    expect(await databases()).toEqual(existing);
    expect(() => readFileSync(join(dir, "systemctl.log"))).toThrow();
    // with room (the data directory's real disk) the same restore goes ahead
    expect(run("bash", [script("todo-restore"), "latest"], { env }).status).toBe(0);
  });

  it("starts the instances again when stopping one of them fails (the trap is set first)", () => {
    const failing = join(dir, "systemctl-failing");
    writeFileSync(failing, `#!/bin/sh\necho "$*" >>"${dir}/systemctl.log"\n[ "$*" != "stop todo-api@${ports[1]}" ]\n`);
    chmodSync(failing, 0o755);
    rmSync(join(dir, "systemctl.log"), { force: true });
    const r = run("bash", [script("todo-restore"), "latest"], { env: { ...env, SYSTEMCTL: failing } });
    expect(r.status).not.toBe(0);
    expect(readFileSync(join(dir, "systemctl.log"), "utf8").trim().split("\n")).toEqual([
      `is-active todo-api@${ports[0]}.socket`,
      `stop todo-api@${ports[0]}`,
      `is-active todo-api@${ports[1]}.socket`,
      `stop todo-api@${ports[1]}`,
      `start todo-api@${ports[0]}`,
      `start todo-api@${ports[1]}`,
    ]);
  });

  it("stops an instance's socket unit before it, and starts it again first, so no connection starts it meanwhile", () => {
    const sockets = join(dir, "systemctl-sockets");
    writeFileSync(
      sockets,
      `#!/bin/sh\necho "$*" >>"${dir}/systemctl.log"\ncase "$*" in "is-active todo-api@${ports[0]}.socket") echo active ;; esac\n`,
    );
    chmodSync(sockets, 0o755);
    rmSync(join(dir, "systemctl.log"), { force: true });
    const r = run("bash", [script("todo-restore"), "latest"], { env: { ...env, SYSTEMCTL: sockets } });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(dir, "systemctl.log"), "utf8").trim().split("\n")).toEqual([
      `is-active todo-api@${ports[0]}.socket`,
      `stop todo-api@${ports[0]}.socket`,
      `stop todo-api@${ports[0]}`,
      `is-active todo-api@${ports[1]}.socket`,
      `stop todo-api@${ports[1]}`,
      `start todo-api@${ports[0]}.socket`,
      `start todo-api@${ports[0]}`,
      `start todo-api@${ports[1]}`,
    ]);
  });

  it("todo-backup removes partial dumps of killed runs and refuses to fill the disk", () => {
    const partial = join(backups, `.${dbName}-20200101T000000Z.dump.partial`);
    writeFileSync(partial, "half a dump");
    const hourAgo = Date.now() / 1000 - 2 * 3600;
    utimesSync(partial, hourAgo, hourAgo);
    expect(run("bash", [script("todo-backup")], { env }).status).toBe(0);
    expect(readdirSync(backups)).not.toContain(`.${dbName}-20200101T000000Z.dump.partial`);

    // a 64 KiB file system: less than twice the last dump (or the database)
    const small = join(dir, "small");
    mkdirSync(small);
    expect(run("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", small]).status).toBe(0);
    try {
      const r = run("bash", [script("todo-backup")], { env: { ...env, TODO_BACKUP_DIR: small } });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/bytes free in .*small, the dump needs \d+/);
      expect(readdirSync(small).filter((f) => f.includes(".dump"))).toEqual([]); // (its status file records why)
    } finally {
      run("umount", [small]);
    }
  });
});
