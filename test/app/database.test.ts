import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type DatabaseHandle } from "../../app/db/database.js";
import { migrateDown, migrateToLatest, migrationStatus } from "../../app/db/migrator.js";
import { migrations } from "../../app/db/migrations/index.js";
import { createTestDatabase } from "../support/database.js";

let dbUrl: string;
let drop: () => Promise<void>;
const handles: DatabaseHandle[] = [];

beforeAll(async () => {
  const db = await createTestDatabase();
  dbUrl = db.url;
  drop = db.drop;
});

afterAll(async () => {
  await Promise.all(handles.map((h) => h.close()));
  await drop?.();
});

async function pg(): Promise<DatabaseHandle> {
  const h = await openDatabase({ kind: "postgres", url: dbUrl, poolSize: 2 });
  handles.push(h);
  return h;
}

describe("migrations on PostgreSQL", () => {
  it("two processes migrating at once apply each migration exactly once (advisory lock)", async () => {
    const [a, b, c] = [await pg(), await pg(), await pg()];
    const results = await Promise.all([
      migrateToLatest(a.sessionDb),
      migrateToLatest(b.sessionDb),
      migrateToLatest(c.sessionDb),
    ]);
    expect(results.flat()).toEqual(Object.keys(migrations));
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from kysely_migration`.execute(a.db);
    expect(rows[0]!.n).toBe(Object.keys(migrations).length);
    expect((await migrationStatus(a.sessionDb)).every((m) => m.executedAt instanceof Date)).toBe(true);
  });

  it("creates the schema the contract needs: case-insensitive uniques, cascade, list indexes", async () => {
    const h = await pg();
    const { rows: indexes } = await sql<{ indexname: string; indexdef: string }>`
      select indexname, indexdef from pg_indexes where schemaname = 'public'`.execute(h.db);
    const def = (name: string) => indexes.find((i) => i.indexname === name)?.indexdef ?? "";
    expect(def("users_username_lower_key")).toMatch(/UNIQUE INDEX .* \(lower\(username\)\)/);
    expect(def("users_email_lower_key")).toMatch(/UNIQUE INDEX .* \(lower\(email\)\)/);
    expect(def("todos_user_created_idx")).toContain("(user_id, created_at DESC, id DESC)");
    expect(def("todos_user_due_idx")).toContain("(user_id, due_date, id)");
    const { rows: fks } = await sql<{ table: string; rule: string }>`
      select tc.table_name as table, rc.delete_rule as rule
      from information_schema.referential_constraints rc
      join information_schema.table_constraints tc on tc.constraint_name = rc.constraint_name`.execute(h.db);
    expect(fks.map((f) => `${f.table}:${f.rule}`).sort()).toEqual([
      "account_tokens:CASCADE",
      // an attachment goes with its todo and with its account (its object is queued by a trigger)
      "attachments:CASCADE",
      "attachments:CASCADE",
      "idempotency_keys:CASCADE",
      "refresh_tokens:CASCADE",
      "todo_tombstones:CASCADE",
      "todos:CASCADE",
    ]);
    expect(def("todos_user_change_idx")).toContain("(user_id, change_seq)");
    const user = await h.db
      .insertInto("users")
      .values({ username: "Case", email: "case@example.com", password_hash: "x" })
      .returning("id")
      .executeTakeFirstOrThrow();
    await expect(
      h.db.insertInto("users").values({ username: "CASE", email: "other@example.com", password_hash: "x" }).execute(),
    ).rejects.toMatchObject({ code: "23505" });
    await h.db.insertInto("todos").values({ user_id: user.id, title: "t" }).execute();
    await h.db.deleteFrom("users").where("id", "=", user.id).execute();
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from todos where user_id = ${user.id}`.execute(
      h.db,
    );
    expect(rows[0]!.n).toBe(0);
  });

  it("down reverts and up re-applies", async () => {
    const h = await pg();
    const names = Object.keys(migrations);
    for (const name of [...names].reverse()) expect(await migrateDown(h.sessionDb)).toEqual([name]);
    expect((await migrationStatus(h.sessionDb)).every((m) => m.executedAt === null)).toBe(true);
    expect(await migrateToLatest(h.sessionDb)).toEqual(names);
  });
});
