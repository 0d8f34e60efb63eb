import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type DatabaseHandle } from "../../app/db/database.js";
import { isDatabaseUnavailable } from "../../app/db/errors.js";
import { readsOnly } from "../../app/db/pipelined-dialect.js";
import { createTestDatabase } from "../support/database.js";

let drop: () => Promise<void>;
let h: DatabaseHandle;

beforeAll(async () => {
  const created = await createTestDatabase();
  drop = created.drop;
  h = await openDatabase({ kind: "postgres", url: created.url, poolSize: 4 });
  await sql`create table items (id int primary key, n int not null)`.execute(h.db);
  await sql`insert into items select g, 0 from generate_series(1, 10) g`.execute(h.db);
});

afterAll(async () => {
  await h?.close();
  await drop?.();
});

/** The backends of this process's pipelined connections (application_name todo-api, idle between statements). */
async function backends(): Promise<number[]> {
  const { rows } = await sql<{ pid: number }>`
    select pid from pg_stat_activity where datname = current_database() and application_name = 'todo-api' and pid <> pg_backend_pid()`.execute(
    h.sessionDb,
  );
  return rows.map((r) => r.pid);
}

describe("the pipelined PostgreSQL dialect", () => {
  it("answers many concurrent statements, each with its own result; a failing one fails alone", async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 200 }, (_, i) =>
        i % 10 === 7
          ? sql<{ x: number }>`select 1 / (${i}::int - ${i}::int) as x`.execute(h.db)
          : sql<{ x: number }>`select ${i}::int * 2 as x`.execute(h.db),
      ),
    );
    results.forEach((r, i) => {
      if (i % 10 === 7) expect(r.status === "rejected" && (r.reason as { code?: string }).code).toBe("22012");
      else expect(r.status === "fulfilled" && r.value.rows[0]!.x).toBe(i * 2);
    });
  });

  it("runs a transaction on a connection of its own: its lock does not hold up other statements, and rollback undoes it", async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const tx = h.db.transaction().execute(async (trx) => {
      await sql`update items set n = n + 1 where id = 1`.execute(trx);
      await held;
      throw new Error("roll back");
    });
    await new Promise((r) => setTimeout(r, 50));
    // Row 1 is locked by the open transaction; statements about other rows go straight through.
    const { rows } = await sql<{ n: number }>`update items set n = n + 1 where id = 2 returning n`.execute(h.db);
    expect(rows[0]!.n).toBe(1);
    release();
    await expect(tx).rejects.toThrow("roll back");
    const after = await sql<{ n: number }>`select n from items where id = 1`.execute(h.db);
    expect(after.rows[0]!.n).toBe(0);
  });

  it("refuses a db.connection() session instead of running its statements in different sessions", async () => {
    await expect(
      h.db.connection().execute(async (db) => {
        await sql`select set_config('application_name', 'mine', false)`.execute(db);
        await sql`select current_setting('application_name')`.execute(db);
      }),
    ).rejects.toThrow(/db.connection\(\) session needs one connection/);
    // The session database holds one connection for the whole session.
    const seen = await h.sessionDb.connection().execute(async (db) => {
      await sql`select set_config('search_path', 'public', false)`.execute(db);
      return (await sql<{ p: string }>`select current_setting('search_path') as p`.execute(db)).rows[0]!.p;
    });
    expect(seen).toBe("public");
  });

  it("recovers by itself when its connections are cut (as when PostgreSQL restarts)", async () => {
    await Promise.all(Array.from({ length: 10 }, () => sql`select 1`.execute(h.db)));
    const pids = await backends();
    expect(pids.length).toBeGreaterThan(0);
    await sql`select pg_terminate_backend(pid) from unnest(${pids}::int[]) pid`.execute(h.sessionDb);
    await new Promise((r) => setTimeout(r, 100));
    // A statement may still meet a dying connection; it then fails as "unavailable" (503), never hangs.
    for (let i = 0; i < 4; i++) {
      try {
        await sql`select 1`.execute(h.db);
      } catch (err) {
        expect(isDatabaseUnavailable(err)).toBe(true);
      }
    }
    const ok = await Promise.all(
      Array.from({ length: 20 }, (_, i) => sql<{ x: number }>`select ${i}::int as x`.execute(h.db)),
    );
    expect(ok.map((r) => r.rows[0]!.x)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });
  it("a write waiting on a row lock holds up no read: writes run on connections of their own, reads on the pipelines", async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const tx = h.db.transaction().execute(async (trx) => {
      await sql`update items set n = n + 1 where id = 3`.execute(trx);
      await held;
    });
    await new Promise((r) => setTimeout(r, 50));
    // More blocked writes than there are pipelines: on a pipeline each would stall what follows it.
    const blocked = Array.from({ length: 6 }, () =>
      h.db
        .updateTable("items" as never)
        .set({ n: sql`n + 1` } as never)
        .where("id" as never, "=", 3 as never)
        .execute(),
    );
    await new Promise((r) => setTimeout(r, 100));
    const reads = await Promise.all(
      Array.from({ length: 20 }, (_, i) => sql<{ x: number }>`select ${i}::int as x`.execute(h.db)),
    );
    expect(reads.map((r) => r.rows[0]!.x)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    release();
    await tx;
    await Promise.all(blocked);
    const { rows } = await sql<{ n: number }>`select n from items where id = 3`.execute(h.db);
    expect(rows[0]!.n).toBe(7);
  });

  it("tells reads from writes: locking selects, data-modifying WITH and raw writes are writes", () => {
    const db = h.db as unknown as import("kysely").Kysely<{ items: { id: number; n: number } }>;
    expect(readsOnly(db.selectFrom("items").selectAll().compile())).toBe(true);
    expect(readsOnly(db.selectFrom("items").selectAll().forUpdate().compile())).toBe(false);
    expect(readsOnly(db.updateTable("items").set({ n: 1 }).compile())).toBe(false);
    expect(
      readsOnly(
        db
          .with("u", (q) => q.updateTable("items").set({ n: 2 }).returning("id"))
          .selectFrom("u")
          .selectAll()
          .compile(),
      ),
    ).toBe(false);
    expect(readsOnly(sql`select 1`.compile(db))).toBe(true);
    expect(readsOnly(sql`with x as (delete from items returning id) select * from x`.compile(db))).toBe(false);
    expect(readsOnly(sql`select 1 from items for update`.compile(db))).toBe(false);
    expect(readsOnly(sql`delete from items`.compile(db))).toBe(false);
  });
});
