import { createHash, randomBytes } from "node:crypto";
import { sql, type Kysely } from "kysely";
import type { Database } from "../db/schema.js";
import { invalidToken, unavailable } from "../errors.js";
import type { Logger } from "../logger.js";
import type { Mailer } from "./mailer.js";
import { MailQueue } from "./mail-queue.js";
import type { PasswordHasher } from "./passwords.js";
import { presentUser, type UserView } from "./presenters.js";
import { foldAscii } from "./canonical.js";

type Purpose = "password_reset" | "email_verification";

/** A reset token lives 30 minutes (the contract); a verification link two days, for a user who reads mail tomorrow. */
const LIFETIME_MINUTES: Record<Purpose, number> = { password_reset: 30, email_verification: 2 * 24 * 60 };

/** 256 random bits, base64url (`[A-Za-z0-9_-]`); only the SHA-256 is stored. */
function newToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString("base64url");
  return { token, hash: hashToken(token) };
}

const hashToken = (token: string) => createHash("sha256").update(token, "utf8").digest("hex");

type Log = Pick<Logger, "info" | "warn">;

/**
 * Password reset and e-mail verification. Mail goes out through the mail queue (`later`), on the
 * queue's own clock: a slow or dead relay never fails or delays the request that asked for it, and
 * neither that request's time nor the next one's says whether the address is registered. A failure is logged; the
 * client can ask again.
 */
export class AccountMailService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly passwords: PasswordHasher,
    private readonly mailer: Mailer,
    private readonly queue: MailQueue = new MailQueue(),
  ) {}

  get mailAvailable(): boolean {
    return this.mailer.available;
  }

  /** The four mail routes answer 503 when the operator configured no mail (production only). */
  requireMail(): void {
    if (!this.mailer.available) throw unavailable();
  }

  /** 202 whatever happens: the lookup, the token and the mail all run after the response. */
  requestPasswordReset(email: string, logger: Log): void {
    this.later("password reset", logger, async () => {
      const user = await this.db
        .selectFrom("users")
        .select(["id", "email"])
        .where(sql`lower(email)`, "=", foldAscii(email))
        .executeTakeFirst();
      if (!user) return; // never mail an address that is not registered
      const token = await this.issue(user.id, "password_reset", user.email);
      await this.mailer.send(
        {
          to: user.email,
          subject: "Reset your Todo password",
          text:
            `Someone asked to reset the password of your Todo account. If it was you, use this code within 30 minutes:\n\n` +
            `${token}\n\nIf it was not you, ignore this mail; your password stays as it is.\n`,
        },
        logger,
      );
    });
  }

  /** Sets the new password, retires the token (and every other reset token) and ends every session. */
  async confirmPasswordReset(token: string, newPassword: string): Promise<void> {
    const hash = hashToken(token);
    const valid = await this.findValid(this.db, hash, "password_reset");
    if (!valid) throw invalidToken();
    const newHash = await this.passwords.hash(newPassword);
    await this.db.transaction().execute(async (trx) => {
      const row = await this.findValid(trx, hash, "password_reset", true);
      if (!row) throw invalidToken(); // used by a concurrent confirm meanwhile
      await trx
        .updateTable("account_tokens")
        .set({ used_at: sql<Date>`now()` as unknown as Date })
        .where("user_id", "=", row.user_id)
        .where("purpose", "=", "password_reset")
        .where("used_at", "is", null)
        .execute();
      // Only while the account still has the address the code was mailed to: a code sent to an
      // address the user has since replaced must not take the account back.
      const updated = await trx
        .updateTable("users")
        .set({ password_hash: newHash, updated_at: sql<Date>`now()` as unknown as Date })
        .where("id", "=", row.user_id)
        .where("email", "=", row.email)
        .executeTakeFirst();
      if (updated.numUpdatedRows === 0n) throw invalidToken();
      await trx
        .updateTable("refresh_tokens")
        .set({ revoked_at: sql<Date>`now()` as unknown as Date })
        .where("user_id", "=", row.user_id)
        .where("revoked_at", "is", null)
        .execute();
    });
  }

  /** Mails a new verification token to the user's current address (after the response). */
  sendVerification(userId: number, logger: Log): void {
    this.later("e-mail verification", logger, async () => {
      const user = await this.db
        .selectFrom("users")
        .select(["id", "email"])
        .where("id", "=", userId)
        .executeTakeFirst();
      if (!user) return;
      const token = await this.issue(user.id, "email_verification", user.email);
      await this.mailer.send(
        {
          to: user.email,
          subject: "Confirm your e-mail address for Todo",
          text: `Confirm that ${user.email} is your address by entering this code in the app:\n\n${token}\n\nIt is valid for two days.\n`,
        },
        logger,
      );
    });
  }

  /** Marks the address verified, if the token was sent to the address the account still has. */
  async verifyEmail(token: string): Promise<UserView> {
    return this.db.transaction().execute(async (trx) => {
      const row = await this.findValid(trx, hashToken(token), "email_verification", true);
      if (!row) throw invalidToken();
      await trx
        .updateTable("account_tokens")
        .set({ used_at: sql<Date>`now()` as unknown as Date })
        .where("id", "=", row.id)
        .execute();
      const user = await trx
        .updateTable("users")
        .set({ email_verified: true })
        .where("id", "=", row.user_id)
        .where("email", "=", row.email)
        .returning(["id", "username", "email", "full_name", "created_at", "email_verified", "role"])
        .executeTakeFirst();
      if (!user) throw invalidToken(); // the address changed since the mail was sent
      return presentUser(user);
    });
  }

  /** Forgets tokens that expired more than a day ago (they can only ever be "invalid"). */
  async prune(): Promise<void> {
    await sql`delete from account_tokens where expires_at < now() - interval '1 day'`.execute(this.db);
  }

  private async findValid(db: Kysely<Database>, hash: string, purpose: Purpose, lock = false) {
    let q = db
      .selectFrom("account_tokens")
      .select(["id", "user_id", "email"])
      .where("token_hash", "=", hash)
      .where("purpose", "=", purpose)
      .where("used_at", "is", null)
      .where("expires_at", ">", sql<Date>`now()`);
    if (lock) q = q.forUpdate();
    return q.executeTakeFirst();
  }

  /** A newer token retires the older ones of the same purpose. */
  private async issue(userId: number, purpose: Purpose, email: string): Promise<string> {
    const { token, hash } = newToken();
    await this.db.transaction().execute(async (trx) => {
      await trx
        .updateTable("account_tokens")
        .set({ used_at: sql<Date>`now()` as unknown as Date })
        .where("user_id", "=", userId)
        .where("purpose", "=", purpose)
        .where("used_at", "is", null)
        .execute();
      await trx
        .insertInto("account_tokens")
        .values({
          user_id: userId,
          purpose,
          token_hash: hash,
          email,
          expires_at: sql<Date>`now() + make_interval(mins => ${LIFETIME_MINUTES[purpose]})` as unknown as Date,
        })
        .execute();
    });
    return token;
  }

  private later(what: string, logger: Log, task: () => Promise<void>): void {
    this.queue.enqueue({
      what,
      run: task,
      onError: (error: unknown) => {
        const err = error as Error & { code?: string; responseCode?: number };
        // Only the message and codes: never the mail (it holds the token) nor the SMTP URL.
        logger.warn(
          { err: { message: err.message, code: err.code, responseCode: err.responseCode } },
          `${what} mail could not be sent; the client can ask again`,
        );
      },
    });
  }
}
