import { sql, type Kysely } from "kysely";
import type { Database } from "../db/schema.js";
import { uniqueViolation } from "../db/errors.js";
import { conflict, unauthorized, validationFailed } from "../errors.js";
import type { PasswordHasher } from "./passwords.js";
import { presentUser, type UserView } from "./presenters.js";
import { foldAscii } from "./canonical.js";

export interface Registration {
  username: string;
  email: string;
  password: string;
  full_name?: string | null | undefined;
}

export interface ProfileChanges {
  email?: string | undefined;
  full_name?: string | null | undefined;
}

const USER_COLUMNS = ["id", "username", "email", "full_name", "created_at", "email_verified", "role"] as const;

function conflictFor(constraint: string) {
  const field = constraint.includes("email") ? "email" : "username";
  return conflict(`That ${field} is already registered.`, [{ path: field, message: `already registered` }]);
}

export class UsersService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly passwords: PasswordHasher,
  ) {}

  async register(input: Registration): Promise<UserView> {
    const passwordHash = await this.passwords.hash(input.password);
    try {
      const row = await this.db
        .insertInto("users")
        .values({
          username: input.username,
          email: foldAscii(input.email),
          full_name: input.full_name ?? null,
          password_hash: passwordHash,
        })
        .returning(USER_COLUMNS)
        .executeTakeFirstOrThrow();
      return presentUser(row);
    } catch (err) {
      const constraint = uniqueViolation(err);
      if (constraint !== null) throw conflictFor(constraint);
      throw err;
    }
  }

  /** Whether the account exists (a token outlives a deleted account by up to its lifetime). */
  async exists(userId: number): Promise<boolean> {
    return (await this.db.selectFrom("users").select("id").where("id", "=", userId).executeTakeFirst()) !== undefined;
  }

  /** The caller's own account; 401 if it no longer exists (deleted while the token lives). */
  async get(userId: number): Promise<UserView> {
    const row = await this.db.selectFrom("users").select(USER_COLUMNS).where("id", "=", userId).executeTakeFirst();
    if (!row) throw unauthorized();
    return presentUser(row);
  }

  /**
   * A new email needs the current password (v1.1): whoever holds a stolen access token must not
   * be able to move the account to their own address and then reset its password. The new address
   * starts unverified (a trigger, migration 0003). `emailChanged` tells the caller to send the
   * verification mail.
   */
  async update(
    userId: number,
    changes: ProfileChanges,
    currentPassword?: string,
  ): Promise<UserView & { emailChanged: boolean }> {
    const set: { email?: string; full_name?: string | null } = {};
    let emailChanged = false;
    if (changes.email !== undefined) {
      const current = await this.db
        .selectFrom("users")
        .select(["email", "password_hash"])
        .where("id", "=", userId)
        .executeTakeFirst();
      if (!current) throw unauthorized();
      if (current.email !== foldAscii(changes.email)) {
        if (currentPassword === undefined) {
          throw validationFailed([{ path: "current_password", message: "is required to change the email" }]);
        }
        if (!(await this.passwords.verify(currentPassword, current.password_hash))) {
          throw validationFailed(
            [{ path: "current_password", message: "is not the current password" }],
            "The current password is wrong.",
          );
        }
        set.email = foldAscii(changes.email);
        emailChanged = true;
      }
    }
    if (changes.full_name !== undefined) set.full_name = changes.full_name;
    if (Object.keys(set).length === 0) return { ...(await this.get(userId)), emailChanged };
    try {
      const row = await this.db
        .updateTable("users")
        .set({ ...set, updated_at: sql<Date>`now()` as unknown as Date })
        .where("id", "=", userId)
        .returning(USER_COLUMNS)
        .executeTakeFirst();
      if (!row) throw unauthorized();
      // Reset codes went to the old address: none of them may work after the move (nor after a
      // move back to that address later).
      if (emailChanged)
        await this.db
          .updateTable("account_tokens")
          .set({ used_at: sql<Date>`now()` as unknown as Date })
          .where("user_id", "=", userId)
          .where("purpose", "=", "password_reset")
          .where("used_at", "is", null)
          .execute();
      return { ...presentUser(row), emailChanged };
    } catch (err) {
      const constraint = uniqueViolation(err);
      if (constraint !== null) throw conflictFor(constraint);
      throw err;
    }
  }

  /** Checks the current password, stores the new one and ends every session, in one transaction. */
  async changePassword(userId: number, currentPassword: string, newPassword: string): Promise<void> {
    const user = await this.db
      .selectFrom("users")
      .select(["password_hash"])
      .where("id", "=", userId)
      .executeTakeFirst();
    if (!user) throw unauthorized();
    if (!(await this.passwords.verify(currentPassword, user.password_hash))) {
      throw validationFailed(
        [{ path: "current_password", message: "is not the current password" }],
        "The current password is wrong.",
      );
    }
    const newHash = await this.passwords.hash(newPassword);
    await this.db.transaction().execute(async (trx) => {
      const updated = await trx
        .updateTable("users")
        .set({ password_hash: newHash, updated_at: sql<Date>`now()` as unknown as Date })
        .where("id", "=", userId)
        .executeTakeFirst();
      if (updated.numUpdatedRows === 0n) throw unauthorized();
      // A reset code asked for before the change must not undo it.
      await trx
        .updateTable("account_tokens")
        .set({ used_at: sql<Date>`now()` as unknown as Date })
        .where("user_id", "=", userId)
        .where("purpose", "=", "password_reset")
        .where("used_at", "is", null)
        .execute();
      await trx
        .updateTable("refresh_tokens")
        .set({ revoked_at: sql<Date>`now()` as unknown as Date })
        .where("user_id", "=", userId)
        .where("revoked_at", "is", null)
        .execute();
    });
  }

  /** Deletes the account; todos and refresh tokens go with it (ON DELETE CASCADE). */
  async delete(userId: number): Promise<void> {
    const deleted = await this.db.transaction().execute((trx) => deleteAccount(trx, userId));
    if (!deleted) throw unauthorized();
  }
}

/** Deletes an account inside the caller's transaction; false if there was none. Shared with the admin routes. */
export async function deleteAccount(trx: Kysely<Database>, userId: number): Promise<boolean> {
  // A todo write locks its todo row, then (its change-number trigger, migration 0002) the
  // owner row. Locking the todos first here takes the same order, so deleting the account
  // while another device writes waits for that write instead of deadlocking with it.
  await sql`select 1 from todos where user_id = ${userId} for update`.execute(trx);
  const deleted = await trx.deleteFrom("users").where("id", "=", userId).executeTakeFirst();
  return deleted.numDeletedRows > 0n;
}
