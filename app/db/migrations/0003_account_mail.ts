import { sql, type Kysely } from "kysely";

/**
 * Frozen once released: never edit, add a new migration instead.
 *
 * API v1.1 password reset and e-mail verification. Expand only: a new column with a default, a
 * new table, a trigger. The v1 code never reads `email_verified`; if it changes an address while
 * it still runs next to v1.1, the trigger still marks the new address unverified.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table users add column email_verified boolean not null default false`.execute(db);
  await sql`
    create function users_email_unverify() returns trigger language plpgsql as $$
    begin
      if new.email is distinct from old.email then
        new.email_verified := false;
      end if;
      return new;
    end
    $$`.execute(db);
  await sql`create trigger users_email_unverify before update of email on users for each row execute function users_email_unverify()`.execute(
    db,
  );

  // Single-use tokens sent by mail; only their SHA-256 is stored. `email` is the address the
  // token was sent to: a verification only counts for the address the user still has.
  await db.schema
    .createTable("account_tokens")
    .addColumn("id", "bigint", (c) => c.generatedAlwaysAsIdentity().primaryKey())
    .addColumn("user_id", "bigint", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("purpose", "text", (c) => c.notNull().check(sql`purpose in ('password_reset', 'email_verification')`))
    .addColumn("token_hash", "text", (c) => c.notNull().unique())
    .addColumn("email", "text", (c) => c.notNull())
    .addColumn("expires_at", "timestamptz", (c) => c.notNull())
    .addColumn("used_at", "timestamptz")
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex("account_tokens_user_idx").on("account_tokens").columns(["user_id", "purpose"]).execute();
  await db.schema.createIndex("account_tokens_expires_idx").on("account_tokens").column("expires_at").execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("account_tokens").execute();
  await sql`drop trigger users_email_unverify on users`.execute(db);
  await sql`drop function users_email_unverify()`.execute(db);
  await sql`alter table users drop column email_verified`.execute(db);
}
