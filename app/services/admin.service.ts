import { sql, type Kysely, type Transaction } from "kysely";
import type { Database } from "../db/schema.js";
import { conflict, notFound } from "../errors.js";
import type { Role } from "./account-status.js";
import { deleteAccount } from "./users.service.js";

/** Who does an administrative action, and from where: what the audit log records. */
export interface Actor {
  /** Null for the server's admin command (`todo-admin`), which acts as no account. */
  id: number | null;
  username: string | null;
  /** The client address (or `cli` for the server's admin command). */
  address: string;
}

export interface AdminUserView {
  id: number;
  username: string;
  email: string;
  full_name: string | null;
  email_verified: boolean;
  created_at: string;
  role: Role;
  disabled: boolean;
  last_login_at: string | null;
  todo_count: number;
  /** Bytes of the user's attachments, uploads in progress included (what counts against the quota). */
  storage_bytes: number;
}

export interface UserQuery {
  q?: string | undefined;
  disabled?: boolean | undefined;
  limit: number;
  offset: number;
}

export interface AuditEntry {
  id: number;
  actor_id: number | null;
  actor_username: string | null;
  action: string;
  target_id: number | null;
  target_username: string | null;
  details: Record<string, unknown> | null;
  at: string;
  client_address: string;
}

export interface Stats {
  users: number;
  active_users_7d: number;
  todos: number;
  signups_per_day: Array<{ day: string; count: number }>;
  storage_bytes: number;
}

export const SIGNUP_DAYS = 30;

const time = (column: string) =>
  sql<string>`to_char(${sql.ref(column)} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** `%`, `_` and `\` match themselves in a search, not as LIKE wildcards. */
const likePattern = (q: string) => `%${q.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;

/**
 * The administration of accounts. Every change runs in one transaction with its audit entry, so
 * an action is never done without its record, nor recorded without being done. At least one
 * enabled administrator always remains: an action that would leave none is refused (409).
 */
export class AdminService {
  constructor(private readonly db: Kysely<Database>) {}

  async listUsers(query: UserQuery): Promise<{ items: AdminUserView[]; total: number; limit: number; offset: number }> {
    let q = this.users(this.db).select(sql<number>`count(*) over ()`.as("total"));
    if (query.q !== undefined && query.q !== "") {
      const pattern = likePattern(query.q.toLowerCase());
      q = q.where((eb) =>
        eb.or([eb(sql`lower(u.username)`, "like", pattern), eb(sql`lower(u.email)`, "like", pattern)]),
      );
    }
    if (query.disabled !== undefined)
      q = q.where(query.disabled ? sql<boolean>`u.disabled_at is not null` : sql<boolean>`u.disabled_at is null`);
    const rows = await q.orderBy("u.id", "desc").limit(query.limit).offset(query.offset).execute();
    let total = rows[0]?.total ?? 0;
    if (rows.length === 0 && query.offset > 0) {
      // Past the end: the total still tells the console how many pages there are.
      const all = await this.listUsers({ ...query, offset: 0, limit: 1 });
      total = all.total;
    }
    return { items: rows.map(({ total: _t, ...u }) => u), total, limit: query.limit, offset: query.offset };
  }

  async getUser(id: number, db: Kysely<Database> = this.db): Promise<AdminUserView> {
    const row = await this.users(db).where("u.id", "=", id).executeTakeFirst();
    if (!row) throw notFound("No such user.");
    return row;
  }

  /** Disabling also ends every session: refresh tokens are revoked, access tokens refused. */
  setDisabled(actor: Actor, id: number, disabled: boolean): Promise<AdminUserView> {
    return this.act(actor, id, disabled ? "user.disable" : "user.enable", async (trx, before) => {
      if (disabled) await this.keepAnAdmin(trx, before);
      await trx
        .updateTable("users")
        .set({ disabled_at: disabled ? sql<Date>`coalesce(disabled_at, now())` : null })
        .where("id", "=", id)
        .execute();
      if (disabled) await revokeRefreshTokens(trx, id);
      return { result: await this.getUser(id, trx) };
    });
  }

  setRole(actor: Actor, id: number, role: Role): Promise<AdminUserView> {
    return this.act(actor, id, "user.role", async (trx, before) => {
      if (role !== "admin") await this.keepAnAdmin(trx, before);
      await trx.updateTable("users").set({ role }).where("id", "=", id).execute();
      return { result: await this.getUser(id, trx), details: { from: before.role, to: role } };
    });
  }

  /** Signs the user out everywhere: refresh tokens revoked, access tokens issued until now refused. */
  revokeSessions(actor: Actor, id: number): Promise<void> {
    return this.act(actor, id, "user.revoke_sessions", async (trx) => {
      await trx.updateTable("users").set({ sessions_revoked_at: sql<Date>`now()` }).where("id", "=", id).execute();
      await revokeRefreshTokens(trx, id);
      return { result: undefined };
    });
  }

  /** Deletes the account with its todos and tokens, as `DELETE /users/me` does. */
  deleteUser(actor: Actor, id: number): Promise<void> {
    return this.act(actor, id, "user.delete", async (trx, before) => {
      // The todos before the owner row, in the order a todo write takes them (see deleteAccount).
      await sql`select 1 from todos where user_id = ${id} for update`.execute(trx);
      await this.keepAnAdmin(trx, before);
      await deleteAccount(trx, id);
      return { result: undefined, details: { email: before.email } };
    });
  }

  async stats(): Promise<Stats> {
    const { rows } = await sql<Omit<Stats, "signups_per_day">>`
      select (select count(*) from users)::int as users,
             (select count(*) from users u
               where u.last_login_at > now() - interval '7 days'
                  or exists (select 1 from refresh_tokens r
                              where r.user_id = u.id and r.created_at > now() - interval '7 days'))::int as active_users_7d,
             (select count(*) from todos)::int as todos,
             (select coalesce(sum(storage_bytes), 0) from users)::bigint as storage_bytes`.execute(this.db);
    const { rows: days } = await sql<{ day: string; count: number }>`
      select to_char(d.day, 'YYYY-MM-DD') as day, count(u.id)::int as count
        from generate_series((now() at time zone 'UTC')::date - ${SIGNUP_DAYS - 1}::int, (now() at time zone 'UTC')::date, interval '1 day') as d(day)
        left join users u on (u.created_at at time zone 'UTC')::date = d.day::date
       group by d.day order by d.day`.execute(this.db);
    return { ...rows[0]!, signups_per_day: days };
  }

  async audit(
    limit: number,
    offset: number,
  ): Promise<{ items: AuditEntry[]; total: number; limit: number; offset: number }> {
    const items = await this.db
      .selectFrom("audit_log")
      .select([
        "id",
        "actor_id",
        "actor_username",
        "action",
        "target_id",
        "target_username",
        "details",
        time("at").as("at"),
        "client_address",
      ])
      .orderBy("at", "desc")
      .orderBy("id", "desc")
      .limit(limit)
      .offset(offset)
      .execute();
    const { total } = await this.db
      .selectFrom("audit_log")
      .select(sql<number>`count(*)::int`.as("total"))
      .executeTakeFirstOrThrow();
    return { items, total, limit, offset };
  }

  /** Records an action done outside an HTTP request (the server's admin command), in its transaction. */
  async record(
    trx: Kysely<Database>,
    actor: Actor,
    action: string,
    target: { id: number; username: string },
    details?: Record<string, unknown>,
  ): Promise<void> {
    await trx
      .insertInto("audit_log")
      .values({
        actor_id: actor.id,
        actor_username:
          actor.username ??
          (actor.id === null ? null : sql<string>`(select username from users where id = ${actor.id})`),
        action,
        target_id: target.id,
        target_username: target.username,
        details: details ? JSON.stringify(details) : null,
        client_address: actor.address,
      })
      .execute();
  }

  /** A sign-in to the admin console: recorded like an action, on the administrator's own account. */
  async recordSignIn(actor: Actor, target: { id: number; username: string }): Promise<void> {
    await this.record(this.db, actor, "admin.sign_in", target);
  }

  /** One administrative action: the target locked, the change and its audit entry in one transaction. */
  private async act<T>(
    actor: Actor,
    id: number,
    action: string,
    change: (
      trx: Transaction<Database>,
      before: { id: number; username: string; email: string; role: Role; disabled: boolean },
    ) => Promise<{ result: T; details?: Record<string, unknown> }>,
  ): Promise<T> {
    return this.db.transaction().execute(async (trx) => {
      const before = await trx
        .selectFrom("users")
        .select(["id", "username", "email", "role", sql<boolean>`disabled_at is not null`.as("disabled")])
        .where("id", "=", id)
        .executeTakeFirst();
      if (!before) throw notFound("No such user.");
      const { result, details } = await change(trx, before);
      await this.record(trx, actor, action, before, details);
      return result;
    });
  }

  /**
   * Refuses (409) to take away the last enabled administrator. The enabled administrators' rows
   * are locked first, so two administrators demoting each other at once cannot both succeed.
   */
  private async keepAnAdmin(
    trx: Kysely<Database>,
    target: { id: number; role: Role; disabled: boolean },
  ): Promise<void> {
    if (target.role !== "admin" || target.disabled) return;
    const admins = await trx
      .selectFrom("users")
      .select("id")
      .where("role", "=", "admin")
      .where("disabled_at", "is", null)
      .orderBy("id")
      .forUpdate()
      .execute();
    if (admins.length <= 1 && admins.some((a) => a.id === target.id))
      throw conflict(
        "This is the last enabled administrator: make another administrator first (on the server: todo-admin promote <username>).",
      );
  }

  private users(db: Kysely<Database>) {
    return db.selectFrom("users as u").select([
      "u.id",
      "u.username",
      "u.email",
      "u.full_name",
      "u.email_verified",
      time("u.created_at").as("created_at"),
      "u.role",
      sql<boolean>`u.disabled_at is not null`.as("disabled"),
      sql<string | null>`to_char(u.last_login_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`.as(
        "last_login_at",
      ),
      sql<number>`(select count(*) from todos t where t.user_id = u.id)::int`.as("todo_count"),
      // Bytes of the user's attachments, uploads in progress included (what counts against the quota).
      "u.storage_bytes",
    ]);
  }
}

async function revokeRefreshTokens(trx: Kysely<Database>, userId: number): Promise<void> {
  await trx
    .updateTable("refresh_tokens")
    .set({ revoked_at: sql<Date>`now()` })
    .where("user_id", "=", userId)
    .where("revoked_at", "is", null)
    .execute();
}
