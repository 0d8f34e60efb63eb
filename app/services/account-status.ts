import { sql, type Kysely } from "kysely";
import type { Database } from "../db/schema.js";
import { unauthorized } from "../errors.js";

export type Role = "user" | "admin";

/**
 * The state of the account behind a valid access token, read from the database on every
 * authenticated request (one indexed single-row statement): a deleted or disabled account, or a
 * token issued before "revoke sessions", stops working at once, on every server, and a role
 * change applies to the very next request. A token carries no role: it would outlive a demotion.
 */
export class AccountStatusService {
  constructor(private readonly db: Kysely<Database>) {}

  /** The role of the token's account; 401 if the account is gone, disabled or its sessions were revoked. */
  async authenticate(userId: number, issuedAtSeconds: number): Promise<Role> {
    const row = await this.db
      .selectFrom("users")
      .select([
        "role",
        sql<boolean>`disabled_at is not null`.as("disabled"),
        // `iat` has whole seconds: a token of the same second as the revocation is refused too.
        sql<boolean>`coalesce(to_timestamp(${issuedAtSeconds}) <= sessions_revoked_at, false)`.as("revoked"),
      ])
      .where("id", "=", userId)
      .executeTakeFirst();
    if (!row) throw unauthorized();
    if (row.disabled) throw unauthorized("This account is disabled.");
    if (row.revoked) throw unauthorized("This session was signed out. Sign in again.");
    return row.role;
  }
}
