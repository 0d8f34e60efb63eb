import { type Kysely, sql } from "kysely";

/**
 * Frozen once released: never edit, add a new migration instead.
 *
 * Files on todos (API v1.2): the attachments, the objects waiting to be removed from the object
 * store, and each user's stored bytes.
 *
 * Expand only: two new tables, a column with a default, a trigger on the new table. The previous
 * release ignores all of it while it still runs beside this one (rolling release); its todo and
 * account deletions cascade to the attachments and so fire the trigger that queues their objects.
 *
 * The trigger keeps the bookkeeping in the same transaction as the write, whoever writes:
 * - an insert adds the attachment's size to `users.storage_bytes` (pending uploads count: they
 *   reserve their bytes, so two uploads cannot together pass the quota);
 * - a delete (of the attachment, or by cascade of its todo or its account) subtracts it and queues
 *   the object key in `object_deletions`, which a background job works through with retries; a
 *   row leaves that table only after the store confirmed the deletion.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table users add column storage_bytes bigint not null default 0`.execute(db);

  await db.schema
    .createTable("attachments")
    .addColumn("id", "uuid", (c) => c.primaryKey())
    .addColumn("todo_id", "bigint", (c) => c.notNull().references("todos.id").onDelete("cascade"))
    .addColumn("user_id", "bigint", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("object_key", "text", (c) => c.notNull().unique())
    .addColumn("filename", "text", (c) => c.notNull())
    .addColumn("content_type", "text", (c) => c.notNull())
    .addColumn("size", "bigint", (c) => c.notNull().check(sql`size >= 0`))
    .addColumn("status", "text", (c) => c.notNull().defaultTo("pending").check(sql`status in ('pending', 'ready')`))
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  // A todo's attachments, in the order they are shown.
  await db.schema
    .createIndex("attachments_todo_idx")
    .on("attachments")
    .columns(["todo_id", "created_at", "id"])
    .execute();
  // The account deletion cascade and the quota's per-user reads.
  await db.schema.createIndex("attachments_user_idx").on("attachments").column("user_id").execute();
  // The janitor's sweep of abandoned uploads.
  await sql`create index attachments_pending_idx on attachments (created_at) where status = 'pending'`.execute(db);

  await db.schema
    .createTable("object_deletions")
    .addColumn("object_key", "text", (c) => c.primaryKey())
    .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("next_attempt_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    // Until then the object's upload URL (issued with the attachment, valid 15 minutes) may still
    // put it back: the janitor deletes once more after it.
    .addColumn("upload_expires_at", "timestamptz", (c) => c.notNull())
    .addColumn("last_error", "text")
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex("object_deletions_due_idx").on("object_deletions").column("next_attempt_at").execute();

  await sql`
    create function attachments_track() returns trigger language plpgsql as $$
    begin
      if tg_op = 'INSERT' then
        update users set storage_bytes = storage_bytes + new.size where id = new.user_id;
        return new;
      end if;
      -- No owner row (the account is being deleted): nothing to subtract from.
      update users set storage_bytes = storage_bytes - old.size where id = old.user_id;
      insert into object_deletions (object_key, upload_expires_at)
        values (old.object_key, old.created_at + interval '16 minutes') on conflict do nothing;
      return old;
    end
    $$`.execute(db);
  await sql`create trigger attachments_track_write after insert or delete on attachments for each row execute function attachments_track()`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger attachments_track_write on attachments`.execute(db);
  await sql`drop function attachments_track()`.execute(db);
  await db.schema.dropTable("object_deletions").execute();
  await db.schema.dropTable("attachments").execute();
  await sql`alter table users drop column storage_bytes`.execute(db);
}
