import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { sql, type Kysely, type Migration } from "kysely";
import { afterAll, describe, expect, it } from "vitest";
import { openDatabase, type DatabaseHandle } from "../../app/db/database.js";
import { migrationState, prepareSchema } from "../../app/db/migrator.js";
import { migrations } from "../../app/db/migrations/index.js";
import { createTestDatabase } from "../support/database.js";
import { breakingChanges, migrateTo, snapshotSchema } from "../support/schema-compat.js";
import { startTestApp } from "../../harness/support/app-harness.js";

/**
 * Releases roll forward and back across schema changes: a release's migrations may only add what
 * the release before it can ignore (docs/app.md, "Schema changes"), and a release starts against
 * a database that is ahead of it.
 */

/**
 * Deliberate contract steps: migration name → the breaking changes it is allowed to make, each
 * only a release after the code stopped using what it removes. Empty: no migration removes anything.
 */
const CONTRACT_STEPS: Record<string, string[]> = {};

const opened: { handle: DatabaseHandle; drop: () => Promise<void> }[] = [];
async function freshDatabase(): Promise<{ url: string; db: Kysely<any>; handle: DatabaseHandle }> {
  const created = await createTestDatabase();
  const handle = await openDatabase({ kind: "postgres", url: created.url, poolSize: 2 });
  opened.push({ handle, drop: created.drop });
  return { url: created.url, db: handle.sessionDb, handle };
}

afterAll(async () => {
  for (const { handle, drop } of opened) {
    await handle.close();
    await drop();
  }
});

const names = Object.keys(migrations).sort();

describe("expand/contract: each migration keeps the previous release's schema", () => {
  it.each(names.slice(1).map((name, i) => [name, names[i]!]))(
    "%s removes or breaks nothing that %s's release uses",
    async (name, previous) => {
      const { db } = await freshDatabase();
      await migrateTo(db, migrations, previous);
      const before = await snapshotSchema(db);
      await migrateTo(db, migrations, name);
      const problems = breakingChanges(before, await snapshotSchema(db));
      expect(problems.filter((p) => !(CONTRACT_STEPS[name] ?? []).includes(p))).toEqual([]);
    },
  );

  it("the check reports drops, renames, retypes and NOT NULL columns the old release cannot write", async () => {
    const { db } = await freshDatabase();
    await migrateTo(db, migrations, names.at(-1)!);
    const base = await snapshotSchema(db);
    const breaking: Record<string, Migration> = {
      ...migrations,
      "9990_breaking": {
        up: async (trx) => {
          await sql`alter table todos rename column title to name`.execute(trx);
          await sql`alter table todos drop column description`.execute(trx);
          await sql`alter table todos alter column due_date type date`.execute(trx);
          await sql`alter table users alter column full_name set not null`.execute(trx);
          await sql`alter table users add column locale text not null`.execute(trx);
          await sql`drop index todos_user_due_idx`.execute(trx);
          await sql`drop table rate_limit_buckets`.execute(trx);
        },
      },
    };
    await sql`update users set full_name = ''`.execute(db);
    await migrateTo(db, breaking, "9990_breaking");
    expect(breakingChanges(base, await snapshotSchema(db)).sort()).toEqual(
      [
        "column todos.title removed or renamed",
        "column todos.name added NOT NULL without a default (the previous release's inserts fail)",
        "column todos.description removed or renamed",
        "column todos.due_date changed type from timestamp with time zone to date",
        "column users.full_name became NOT NULL",
        "column users.locale added NOT NULL without a default (the previous release's inserts fail)",
        "index todos:todos_user_due_idx removed or renamed",
        "table rate_limit_buckets removed or renamed",
      ].sort(),
    );
  });

  it("the check passes additive changes: new tables, nullable or defaulted columns, indexes", async () => {
    const { db } = await freshDatabase();
    await migrateTo(db, migrations, names.at(-1)!);
    const base = await snapshotSchema(db);
    const additive: Record<string, Migration> = {
      ...migrations,
      "9991_additive": {
        up: async (trx) => {
          await sql`alter table todos add column note text`.execute(trx);
          await sql`alter table todos add column priority integer not null default 0`.execute(trx);
          await sql`create index todos_priority_idx on todos (priority)`.execute(trx);
          await sql`create table labels (id bigint generated always as identity primary key, name text not null)`.execute(
            trx,
          );
        },
      },
    };
    await migrateTo(db, additive, "9991_additive");
    expect(breakingChanges(base, await snapshotSchema(db))).toEqual([]);
  });
});

describe("a release against a database ahead of it", () => {
  const newer = "9999_from_a_newer_release";
  const markAhead = (db: Kysely<any>) =>
    sql`insert into kysely_migration (name, timestamp) values (${newer}, ${new Date().toISOString()})`.execute(db);

  it("starts (migrate-on-start on or off) and logs that the database is ahead", async () => {
    const { url, db } = await freshDatabase();
    expect(await prepareSchema(db, { migrate: true })).toEqual({ applied: names, ahead: [] });
    await markAhead(db);
    expect(await migrationState(db)).toEqual({ executed: [...names, newer], pending: [], unknown: [newer] });
    for (const migrate of ["true", "false"]) {
      const app = await startTestApp({ databaseUrl: url, env: { MIGRATE_ON_START: migrate } });
      expect((await fetch(`${app.url}/readyz`)).status).toBe(200);
      const warning = app.logs.map((l) => JSON.parse(l)).find((l) => l.msg?.includes("ahead of this release"));
      expect(warning).toMatchObject({ level: 40, migrations: [newer] });
      await app.close();
    }
  });

  it("`migrate up` of the older release says so and succeeds (a redeploy of it works)", async () => {
    const { url, db } = await freshDatabase();
    await prepareSchema(db, { migrate: true });
    await markAhead(db);
    const r = spawnSync(
      process.execPath,
      ["--import", "tsx", join(import.meta.dirname, "../../app/db/migrate-cli.ts"), "up"],
      {
        env: { PATH: process.env.PATH, DATABASE_URL: url, NODE_ENV: "test", JWT_SECRET: "x".repeat(40) },
        encoding: "utf8",
      },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`database is ahead of this release (it also ran ${newer})`);
  });

  it("refuses to start when its own migrations are missing, with what to do", async () => {
    const { db } = await freshDatabase();
    await expect(prepareSchema(db, { migrate: false })).rejects.toThrow(
      /lacks this release's migrations 0001_initial.*migrate up/,
    );
    // ahead and behind at once: no order of migrations makes that safe
    await sql`create table kysely_migration (name varchar(255) primary key, timestamp varchar(255) not null)`.execute(
      db,
    );
    await markAhead(db);
    await expect(prepareSchema(db, { migrate: true })).rejects.toThrow(
      /does not know \(9999_from_a_newer_release\) and lacks some of its own \(0001_initial/,
    );
  });
});
