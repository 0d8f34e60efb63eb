import { sql, type Kysely } from "kysely";

/** Frozen: never edit a released migration; add a new one instead. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("users")
    .addColumn("id", "bigint", (c) => c.generatedAlwaysAsIdentity().primaryKey())
    .addColumn("username", "text", (c) => c.notNull().check(sql`char_length(username) between 3 and 50`))
    .addColumn("email", "text", (c) => c.notNull().check(sql`email = lower(email)`))
    .addColumn("full_name", "text")
    .addColumn("password_hash", "text", (c) => c.notNull())
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  // Case-insensitive uniqueness: "Alice" and "alice" are the same account.
  await sql`create unique index users_username_lower_key on users (lower(username))`.execute(db);
  await sql`create unique index users_email_lower_key on users (lower(email))`.execute(db);

  await db.schema
    .createTable("todos")
    .addColumn("id", "bigint", (c) => c.generatedAlwaysAsIdentity().primaryKey())
    .addColumn("user_id", "bigint", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("title", "text", (c) => c.notNull().check(sql`char_length(title) between 1 and 200`))
    .addColumn("description", "text", (c) => c.check(sql`char_length(description) <= 2000`))
    .addColumn("due_date", "timestamptz")
    .addColumn("completed", "boolean", (c) => c.notNull().defaultTo(false))
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  // "My todos, newest first" (and oldest first, scanned backwards), ties broken by id.
  await sql`create index todos_user_created_idx on todos (user_id, created_at desc, id desc)`.execute(db);
  // "My todos by due date", nulls last, ties broken by id.
  await sql`create index todos_user_due_idx on todos (user_id, due_date, id)`.execute(db);

  await db.schema
    .createTable("refresh_tokens")
    .addColumn("id", "bigint", (c) => c.generatedAlwaysAsIdentity().primaryKey())
    .addColumn("user_id", "bigint", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("token_hash", "text", (c) => c.notNull().unique())
    .addColumn("family_id", "uuid", (c) => c.notNull())
    .addColumn("expires_at", "timestamptz", (c) => c.notNull())
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("used_at", "timestamptz")
    .addColumn("revoked_at", "timestamptz")
    .execute();
  await db.schema.createIndex("refresh_tokens_family_idx").on("refresh_tokens").column("family_id").execute();
  await db.schema.createIndex("refresh_tokens_user_idx").on("refresh_tokens").column("user_id").execute();

  // Fixed-window counters shared by every app process on this database.
  await db.schema
    .createTable("rate_limit_buckets")
    .addColumn("key", "text", (c) => c.notNull())
    .addColumn("window_start", "timestamptz", (c) => c.notNull())
    .addColumn("hits", "integer", (c) => c.notNull())
    .addPrimaryKeyConstraint("rate_limit_buckets_pkey", ["key", "window_start"])
    .execute();
  await db.schema
    .createIndex("rate_limit_buckets_window_idx")
    .on("rate_limit_buckets")
    .column("window_start")
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("rate_limit_buckets").execute();
  await db.schema.dropTable("refresh_tokens").execute();
  await db.schema.dropTable("todos").execute();
  await db.schema.dropTable("users").execute();
}
