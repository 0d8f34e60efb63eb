import { sql, type Kysely } from "kysely";

/**
 * Frozen once released: never edit, add a new migration instead.
 *
 * API v1.2 roles and administration. Expand only: new columns with a default or nullable, a new
 * table. The v1.1 code never reads them; its inserts get `role = 'user'`.
 * - `role`: `user` or `admin`; the first admin is made on the server (admin CLI), never over HTTP.
 * - `disabled_at`: set while an administrator has disabled the account.
 * - `sessions_revoked_at`: access tokens issued at or before it are refused (revoke sessions).
 * - `last_login_at`: the last password login.
 * - `audit_log`: every administrative action. No foreign keys: an entry outlives the accounts it
 *   names, so the usernames are kept as they were at the time.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table users add column role text not null default 'user' check (role in ('user', 'admin'))`.execute(
    db,
  );
  await sql`alter table users add column disabled_at timestamptz`.execute(db);
  await sql`alter table users add column sessions_revoked_at timestamptz`.execute(db);
  await sql`alter table users add column last_login_at timestamptz`.execute(db);
  await sql`create index users_admins_idx on users (id) where role = 'admin'`.execute(db);
  await sql`create index users_created_at_idx on users (created_at)`.execute(db);

  await db.schema
    .createTable("audit_log")
    .addColumn("id", "bigint", (c) => c.generatedAlwaysAsIdentity().primaryKey())
    .addColumn("actor_id", "bigint")
    .addColumn("actor_username", "text")
    .addColumn("action", "text", (c) => c.notNull())
    .addColumn("target_id", "bigint")
    .addColumn("target_username", "text")
    .addColumn("details", "jsonb")
    .addColumn("client_address", "text", (c) => c.notNull())
    .addColumn("at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex("audit_log_at_idx").on("audit_log").columns(["at desc", "id desc"]).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("audit_log").execute();
  await sql`drop index users_created_at_idx`.execute(db);
  await sql`drop index users_admins_idx`.execute(db);
  for (const column of ["last_login_at", "sessions_revoked_at", "disabled_at", "role"]) {
    await sql`alter table users drop column ${sql.ref(column)}`.execute(db);
  }
}
