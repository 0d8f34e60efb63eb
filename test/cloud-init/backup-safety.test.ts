import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../support/database.js";
import { requireTool } from "../support/tools.js";
import { renderedFiles, run, variants } from "./helpers.js";
import { backupEnv, dropWithCopies } from "./backup-database.js";

const pgDump = requireTool("pg_dump");

/**
 * todo-backup's guards against losing backups, against the test run's real PostgreSQL: the space
 * rule (estimated from the last dump's compression, pruning first), every dump read back with
 * pg_restore --list, dumps dated in the future set aside, the clock's sync recorded, and the test
 * restore into a scratch database. Full disks are small tmpfs mounts.
 */
const dir = mkdtempSync(join(tmpdir(), "todo-backup-safety-"));
const backups = join(dir, "backups");
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let dbName = "";
let env: NodeJS.ProcessEnv = {};
const script = join(dir, "todo-backup");
const MiB = 1024 * 1024;

const query = async (sql: string, database?: string) => {
  const url = new URL(db.url);
  if (database) url.pathname = `/${database}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
};
const backup = (args: string[] = [], extra: NodeJS.ProcessEnv = {}) =>
  run("bash", [script, ...args], { env: { ...env, ...extra }, timeout: 120_000 });
const dumps = (folder: string) => readdirSync(folder).filter((f) => f.endsWith(".dump"));
const status = (folder = backups) => readFileSync(join(folder, "status"), "utf8");

function withTmpfs<T>(name: string, size: string, body: (path: string) => T): T {
  const path = join(dir, name);
  mkdirSync(path, { recursive: true });
  expect(run("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", path]).status).toBe(0);
  try {
    return body(path);
  } finally {
    run("umount", [path]);
  }
}

beforeAll(async () => {
  db = await createTestDatabase();
  const url = new URL(db.url);
  dbName = url.pathname.slice(1);
  const files = renderedFiles(variants["local, no domain"]!);
  writeFileSync(script, files.get("/usr/local/sbin/todo-backup")!.content);
  chmodSync(script, 0o755);
  writeFileSync(join(dir, "host.conf"), files.get("/etc/todo-host.conf")!.content);
  writeFileSync(join(dir, "timedatectl"), "#!/bin/sh\necho yes\n");
  chmodSync(join(dir, "timedatectl"), 0o755);
  env = {
    ...backupEnv(db.url, { dir, backups }),
    TODO_TIMEDATECTL: join(dir, "timedatectl"),
    TODO_BACKUP_RESERVE_BYTES: String(256 * 1024),
  };
  await query(`create table todos (id serial primary key, title text not null);
    insert into todos (title) select 'todo ' || g from generate_series(1, 2000) g;`);
});

afterAll(async () => {
  if (db) await dropWithCopies(db);
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(pgDump.missing)("todo-backup keeps backing up", () => {
  it("dumps a database on a disk with less free space than the database's size (the first dump)", async () => {
    const [{ size }] = await query("select pg_database_size(current_database())::bigint as size");
    // room for the compressed dump and the reserve, not for a copy the database's size
    withTmpfs("first", `${Math.ceil(Number(size) * 0.75)}`, (small) => {
      const r = backup([], { TODO_BACKUP_DIR: small });
      expect(r.status, r.stderr).toBe(0);
      expect(dumps(small)).toHaveLength(1);
      expect(status(small)).toMatch(/^last_dump_verified=pg_restore --list$/m);
      // the compression of this dump sizes the next estimate
      expect(readFileSync(join(small, ".last-dump-sizes"), "utf8")).toMatch(/^\d+ \d+\n$/);
    });
  });

  it("prunes expired dumps before the space check, so old dumps never wedge the backups", () => {
    withTmpfs("wedged", "8m", (small) => {
      const now = Date.now() / 1000;
      // four expired dumps fill the disk; the compression recorded says the next dump is small
      for (let i = 1; i <= 4; i++) {
        const f = join(small, `${dbName}-2020010${i}T000000Z.dump`);
        writeFileSync(f, Buffer.alloc(1.8 * MiB));
        utimesSync(f, now - (20 - i) * 86400, now - (20 - i) * 86400);
      }
      writeFileSync(join(small, ".last-dump-sizes"), `${8 * MiB} ${64 * 1024}\n`);
      const r = backup([], { TODO_BACKUP_DIR: small });
      expect(r.status, r.stderr).toBe(0);
      // the two oldest went before the dump; after it only the newest two stay
      expect(r.stderr).toContain(`removed ${join(small, `${dbName}-20200101T000000Z.dump`)} (older than 7 days)`);
      const left = dumps(small).sort();
      expect(left).toHaveLength(2);
      expect(left[0]).toBe(`${dbName}-20200104T000000Z.dump`);
      expect(left[1]).not.toContain("2020");
    });
  });

  it("never prunes the newest two dumps while backups fail, however old", () => {
    withTmpfs("failing", "1m", (small) => {
      const now = Date.now() / 1000;
      for (const day of ["01", "02"]) {
        const f = join(small, `${dbName}-202001${day}T000000Z.dump`);
        writeFileSync(f, Buffer.alloc(300 * 1024));
        utimesSync(f, now - 30 * 86400, now - 30 * 86400);
      }
      writeFileSync(join(small, ".last-dump-sizes"), `1 1\n`); // incompressible: the dump cannot fit
      const r = backup([], { TODO_BACKUP_DIR: small });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/bytes free in .*failing, the dump needs \d+/);
      expect(dumps(small).sort()).toEqual([`${dbName}-20200101T000000Z.dump`, `${dbName}-20200102T000000Z.dump`]);
      expect(status(small)).toMatch(/^last_dump_error=.* no room: /m);
    });
  });

  it("keeps no dump that pg_restore --list cannot read", () => {
    const bin = join(dir, "bad-dump-bin");
    mkdirSync(bin, { recursive: true });
    // a pg_dump that exits 0 and writes a truncated archive
    writeFileSync(
      join(bin, "pg_dump"),
      '#!/bin/sh\nfor a; do case $a in --file=*) f=${a#--file=} ;; esac; done\nprintf PGDMP >"$f"\n',
    );
    chmodSync(join(bin, "pg_dump"), 0o755);
    const folder = join(dir, "unreadable");
    const r = backup([], { TODO_BACKUP_DIR: folder, PATH: `${bin}${delimiter}${env.PATH}` });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("the dump does not read back (pg_restore --list failed)");
    expect(readdirSync(folder).filter((f) => f.includes(".dump"))).toEqual([]);
  });

  it("sets a dump dated in the future aside, so it is never the latest and never hides the age alert", () => {
    const folder = join(dir, "skew");
    mkdirSync(folder, { recursive: true });
    const future = join(folder, `${dbName}-20991231T000000Z.dump`);
    writeFileSync(future, "from a clock a year ahead");
    const r = backup([], { TODO_BACKUP_DIR: folder });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain("is dated in the future");
    expect(existsSync(future)).toBe(false);
    expect(existsSync(`${future}.future-dated`)).toBe(true);
    expect(dumps(folder)).toHaveLength(1); // the real one: *.dump no longer matches the future one
    expect(status(folder)).toMatch(/^future_dated_dumps=1$/m);
  });

  it("reports a clock that is not NTP-synchronized", () => {
    writeFileSync(join(dir, "timedatectl-no"), "#!/bin/sh\necho no\n");
    chmodSync(join(dir, "timedatectl-no"), 0o755);
    const folder = join(dir, "clock");
    const r = backup([], { TODO_BACKUP_DIR: folder, TODO_TIMEDATECTL: join(dir, "timedatectl-no") });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain("warning: the clock is not NTP-synchronized");
    expect(status(folder)).toMatch(/^clock_synchronized=no$/m);
  });
});

describe.skipIf(pgDump.missing)("todo-backup test-restore", () => {
  it("restores the latest dump into a scratch database, checks it, drops it and records the result", async () => {
    expect(backup().status).toBe(0);
    const r = backup(["test-restore"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/test restore of .* succeeded: 1 tables/);
    expect(status()).toMatch(/^last_test_restore=\S+ ok: .*\.dump \(1 tables, \d+ s\)$/m);
    expect(await query(`select datname from pg_database where datname like '${dbName}\\_verify\\_%'`)).toEqual([]);
    expect(backup(["status"]).stdout).toContain("last_test_restore=");
  });

  it("fails, and records it, when the latest dump does not restore", async () => {
    const folder = join(dir, "unrestorable");
    expect(backup([], { TODO_BACKUP_DIR: folder }).status).toBe(0);
    // damaged after it was written (a bad disk, a partial copy back from the bucket)
    const broken = join(folder, dumps(folder)[0]!);
    const bytes = readFileSync(broken);
    writeFileSync(broken, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    const r = backup(["test-restore"], { TODO_BACKUP_DIR: folder });
    expect(r.status).not.toBe(0);
    expect(status(folder)).toMatch(/^last_test_restore=\S+ failed: /m);
    expect(await query(`select datname from pg_database where datname like '${dbName}\\_verify\\_%'`)).toEqual([]);
  });
});
