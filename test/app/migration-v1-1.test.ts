import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type DatabaseHandle } from "../../app/db/database.js";
import { createMigrator } from "../../app/db/migrator.js";
import { createTestDatabase } from "../support/database.js";
import { client, newAccount, startTestApp } from "../../harness/support/app-harness.js";

/**
 * What migrations 0002 and 0003 do to a database the v1 release already uses, and whether the v1
 * release's own statements keep working (and are tracked) while it still runs next to v1.1.
 */
let dbUrl: string;
let drop: () => Promise<void>;
let h: DatabaseHandle;

beforeAll(async () => {
  const db = await createTestDatabase();
  dbUrl = db.url;
  drop = db.drop;
  h = await openDatabase({ kind: "postgres", url: dbUrl, poolSize: 2 });
});

afterAll(async () => {
  await h?.close();
  await drop?.();
});

describe("upgrading a v1 database to v1.1", () => {
  it("keeps existing todos (version 1, distinct change numbers), and v1's statements still work and are tracked", async () => {
    const migrator = createMigrator(h.sessionDb);
    expect((await migrator.migrateTo("0001_initial")).error).toBeUndefined();
    // Data as the v1 release writes it.
    const { rows: users } = await sql<{ id: number }>`
      insert into users (username, email, password_hash) values ('olduser', 'old@example.com', 'x'), ('other', 'other@example.com', 'x') returning id`.execute(
      h.db,
    );
    const [u1, u2] = [users[0]!.id, users[1]!.id];
    await sql`insert into todos (user_id, title) select ${u1}, 'old ' || g from generate_series(1, 5) g`.execute(h.db);
    await sql`insert into todos (user_id, title) values (${u2}, 'theirs')`.execute(h.db);

    expect((await migrator.migrateToLatest()).error).toBeUndefined();
    const { rows: todos } = await sql<{
      version: number;
      change_seq: number;
    }>`select version, change_seq from todos where user_id = ${u1} order by id`.execute(h.db);
    expect(todos.map((t) => t.version)).toEqual([1, 1, 1, 1, 1]);
    expect(todos.map((t) => t.change_seq)).toEqual([1, 2, 3, 4, 5]);
    const { rows: counters } = await sql<{
      id: number;
      change_seq: number;
      email_verified: boolean;
    }>`select id, change_seq, email_verified from users order by id`.execute(h.db);
    expect(counters).toEqual([
      { id: u1, change_seq: 5, email_verified: false },
      { id: u2, change_seq: 1, email_verified: false },
    ]);

    // v1's statements, verbatim in shape (no version, no change_seq): they work, and the triggers
    // number them, so a v1.1 client syncing meanwhile misses nothing.
    await sql`insert into todos (user_id, title) values (${u1}, 'written by v1')`.execute(h.db);
    await sql`update todos set title = 'edited by v1', updated_at = now() where user_id = ${u1} and title = 'old 1'`.execute(
      h.db,
    );
    await sql`delete from todos where user_id = ${u1} and title = 'old 2'`.execute(h.db);
    await sql`update users set email = 'moved@example.com', updated_at = now() where id = ${u1}`.execute(h.db);
    const { rows: after } = await sql<{ title: string; version: number; change_seq: number }>`
      select title, version, change_seq from todos where user_id = ${u1} order by change_seq desc limit 2`.execute(
      h.db,
    );
    expect(after).toEqual([
      { title: "edited by v1", version: 2, change_seq: 7 },
      { title: "written by v1", version: 1, change_seq: 6 },
    ]);
    const { rows: tombstones } = await sql<{
      change_seq: number;
    }>`select change_seq from todo_tombstones where user_id = ${u1}`.execute(h.db);
    expect(tombstones).toEqual([{ change_seq: 8 }]);

    // The v1.1 server on this database: an old account syncs everything.
    const app = await startTestApp({ databaseUrl: dbUrl });
    try {
      const api = client(app.url);
      const acct = await newAccount(api);
      await api.post("/api/v1/todos", { token: acct.access, json: { title: "new" } });
      const sync = await api.get("/api/v1/todos/changes", { token: acct.access });
      expect(sync.body.changes.map((c: { todo: { title: string } }) => c.todo.title)).toEqual(["new"]);
    } finally {
      await app.close();
    }
  });
});
