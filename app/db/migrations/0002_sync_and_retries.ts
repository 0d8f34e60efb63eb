import { sql, type Kysely } from "kysely";

/**
 * Frozen once released: never edit, add a new migration instead.
 *
 * API v1.1: todo versions, the per-user change sequence behind `GET /todos/changes`, tombstones
 * and the idempotency-key store. Expand only: every change is a new table, a new column with a
 * default, a new index, a new function or trigger. The v1 code ignores all of it and keeps working
 * while it still runs next to v1.1 (rolling release), and because the version and the change
 * sequence are kept by triggers, writes made by the v1 code during that window are tracked too.
 */
export async function up(db: Kysely<any>): Promise<void> {
  // The per-user counter. Every change to a user's todos takes the next value while holding this
  // row's lock until commit, so for one user the values become visible strictly in order: a sync
  // reader that sees value N also sees every change numbered below N.
  await sql`alter table users add column change_seq bigint not null default 0`.execute(db);
  await sql`alter table todos add column version integer not null default 1`.execute(db);
  await sql`alter table todos add column change_seq bigint not null default 0`.execute(db);

  // Existing todos get distinct sequence numbers (in id order) before the trigger exists.
  await sql`
    update todos t set change_seq = n.seq
    from (select id, row_number() over (partition by user_id order by id) as seq from todos) n
    where t.id = n.id`.execute(db);
  await sql`
    update users u set change_seq = c.n
    from (select user_id, count(*) as n from todos group by user_id) c
    where u.id = c.user_id`.execute(db);
  await sql`create index todos_user_change_idx on todos (user_id, change_seq)`.execute(db);

  await db.schema
    .createTable("todo_tombstones")
    .addColumn("user_id", "bigint", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("change_seq", "bigint", (c) => c.notNull())
    .addColumn("todo_id", "bigint", (c) => c.notNull())
    .addColumn("version", "integer", (c) => c.notNull())
    .addColumn("deleted_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint("todo_tombstones_pkey", ["user_id", "change_seq"])
    .execute();
  // Retention pruning walks this index.
  await db.schema.createIndex("todo_tombstones_deleted_idx").on("todo_tombstones").column("deleted_at").execute();

  // BEFORE INSERT/UPDATE: take the owner's next sequence value (locking the owner row until
  // commit) and bump the version on a real change. A no-op UPDATE (every column equal) is no
  // change: no new version, no new sequence value, no sync entry.
  // AFTER DELETE: leave a tombstone, unless the owner is being deleted too (then there is no
  // owner row to number it, and the account's tombstones go with it by cascade).
  await sql`
    create function todos_track_change() returns trigger language plpgsql as $$
    declare
      next_seq bigint;
    begin
      if tg_op = 'UPDATE' and new is not distinct from old then
        return new;
      end if;
      update users set change_seq = change_seq + 1
        where id = case when tg_op = 'DELETE' then old.user_id else new.user_id end
        returning change_seq into next_seq;
      if tg_op = 'DELETE' then
        if next_seq is not null then
          insert into todo_tombstones (user_id, change_seq, todo_id, version, deleted_at)
            values (old.user_id, next_seq, old.id, old.version + 1, now());
        end if;
        return old;
      end if;
      -- No owner row: leave 0 and let the foreign key reject the insert (23503).
      new.change_seq := coalesce(next_seq, 0);
      if tg_op = 'UPDATE' then
        new.version := old.version + 1;
      else
        new.version := 1;
      end if;
      return new;
    end
    $$`.execute(db);
  await sql`create trigger todos_track_write before insert or update on todos for each row execute function todos_track_change()`.execute(
    db,
  );
  await sql`create trigger todos_track_delete after delete on todos for each row execute function todos_track_change()`.execute(
    db,
  );

  // Idempotency-Key store: one row per (user, key). `response_status` is null while the first
  // request is in flight; `locked_until` lets a retry take over a claim whose process died.
  await db.schema
    .createTable("idempotency_keys")
    .addColumn("user_id", "bigint", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("key", "text", (c) => c.notNull())
    .addColumn("request_hash", "text", (c) => c.notNull())
    .addColumn("claim", "uuid", (c) => c.notNull())
    .addColumn("locked_until", "timestamptz", (c) => c.notNull())
    .addColumn("response_status", "integer")
    .addColumn("response_headers", "jsonb")
    .addColumn("response_body", "text")
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint("idempotency_keys_pkey", ["user_id", "key"])
    .execute();
  await db.schema.createIndex("idempotency_keys_created_idx").on("idempotency_keys").column("created_at").execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("idempotency_keys").execute();
  await sql`drop trigger todos_track_delete on todos`.execute(db);
  await sql`drop trigger todos_track_write on todos`.execute(db);
  await sql`drop function todos_track_change()`.execute(db);
  await db.schema.dropTable("todo_tombstones").execute();
  await sql`drop index todos_user_change_idx`.execute(db);
  await sql`alter table todos drop column change_seq`.execute(db);
  await sql`alter table todos drop column version`.execute(db);
  await sql`alter table users drop column change_seq`.execute(db);
}
