import { createHash, createHmac, randomBytes, randomUUID } from "node:crypto";
import { sql, type Kysely } from "kysely";
import type { Database } from "../db/schema.js";
import { accountDisabled, unauthorized } from "../errors.js";
import type { AccessTokens } from "./access-tokens.js";
import type { PasswordHasher } from "./passwords.js";
import { foldAscii } from "./canonical.js";

export interface TokenPair {
  access_token: string;
  token_type: "bearer";
  expires_in: number;
  refresh_token: string;
}

const DAY_MS = 86_400_000;

/** Refresh tokens are 256 random bits; only their SHA-256 is stored, so a database leak yields no sessions. */
function newRefreshToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString("base64url");
  return { token, hash: hashRefreshToken(token) };
}

/**
 * The one successor of a refresh token: an HMAC of the token under a server key. Whoever presents
 * the token again within the grace window gets this same successor back, so a retired token can
 * never branch a login into several live ones. Unpredictable without the key and the token (the
 * database holds neither).
 */
function successorOf(key: Buffer, token: string): { token: string; hash: string } {
  const successor = createHmac("sha256", key).update(token, "utf8").digest("base64url");
  return { token: successor, hash: hashRefreshToken(successor) };
}

function hashRefreshToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

const INVALID_LOGIN = "Incorrect username or password.";
const INVALID_REFRESH = "The refresh token is invalid, expired or already used.";

export class AuthService {
  private readonly successorKey: Buffer;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly passwords: PasswordHasher,
    private readonly accessTokens: AccessTokens,
    private readonly refreshTtlDays: number,
    /** A token retired less than this long ago may be presented again (lost response, parallel refresh). */
    private readonly reuseGraceSeconds: number,
    /** The server's secret; the key that derives each refresh token's successor is derived from it. */
    secret: Uint8Array,
  ) {
    this.successorKey = createHmac("sha256", secret).update("todo-api refresh successor").digest();
  }

  /** Password login; `username` may also be the email. Unknown users cost the same bcrypt time. */
  async login(username: string, password: string): Promise<TokenPair> {
    const user = await this.checkPassword(username, password);
    return this.issue(this.db, user.id, randomUUID());
  }

  /**
   * The account a username (or email) and password name, for the API's login and the admin
   * console's sign-in: 401 for a wrong pair, 403 `account_disabled` for a right one of a disabled
   * account; records the sign-in time.
   */
  async checkPassword(
    username: string,
    password: string,
  ): Promise<{ id: number; username: string; role: "user" | "admin" }> {
    const login = username.trim();
    const user = await this.db
      .selectFrom("users")
      .select(["id", "username", "role", "password_hash", sql<boolean>`disabled_at is not null`.as("disabled")])
      .where((eb) =>
        eb.or([eb(sql`lower(username)`, "=", foldAscii(login)), eb(sql`lower(email)`, "=", foldAscii(login))]),
      )
      .executeTakeFirst();
    const ok = user
      ? await this.passwords.verify(password, user.password_hash)
      : await this.passwords.verifyNobody(password);
    if (!user || !ok) throw unauthorized(INVALID_LOGIN);
    // Only after the password: a guesser must not learn that an account is disabled.
    if (user.disabled) throw accountDisabled();
    await this.db
      .updateTable("users")
      .set({ last_login_at: sql<Date>`now()` as unknown as Date })
      .where("id", "=", user.id)
      .execute();
    return { id: user.id, username: user.username, role: user.role };
  }

  /**
   * Single-use rotation. A token that was already used or revoked means it leaked (or a client
   * replayed it): every token of that login is revoked and the caller gets 401. Except within the
   * grace window: a token retired (used, not revoked) less than `reuseGraceSeconds` ago yields
   * another pair of the same login, because two parallel refreshes, or a retry after a lost
   * response, must not log the user out.
   */
  async refresh(refreshToken: string): Promise<TokenPair> {
    const hash = hashRefreshToken(refreshToken);
    const outcome = await this.db.transaction().execute(async (trx) => {
      const row = await trx
        .selectFrom("refresh_tokens")
        .select([
          "id",
          "user_id",
          "family_id",
          "expires_at",
          "used_at",
          "revoked_at",
          sql<boolean>`coalesce(used_at > now() - make_interval(secs => ${this.reuseGraceSeconds}), false)`.as(
            "in_grace",
          ),
        ])
        .where("token_hash", "=", hash)
        .forUpdate()
        .executeTakeFirst();
      if (!row) return { kind: "invalid" as const };
      const revokeFamily = async () => {
        await trx
          .updateTable("refresh_tokens")
          .set({ revoked_at: sql<Date>`now()` })
          .where("family_id", "=", row.family_id)
          .where("revoked_at", "is", null)
          .execute();
        return { kind: "reused" as const };
      };
      if (row.revoked_at !== null || (row.used_at !== null && !row.in_grace)) return revokeFamily();
      if (row.expires_at.getTime() <= Date.now()) return { kind: "invalid" as const };
      const successor = successorOf(this.successorKey, refreshToken);
      if (row.used_at === null) {
        await trx.updateTable("refresh_tokens").set({ used_at: sql<Date>`now()` }).where("id", "=", row.id).execute();
        return { kind: "ok" as const, pair: await this.issue(trx, row.user_id, row.family_id, successor) };
      }
      // Presented again within the grace window: the same successor, while it is still unused.
      const next = await trx
        .selectFrom("refresh_tokens")
        .select(["used_at", "revoked_at"])
        .where("token_hash", "=", successor.hash)
        .executeTakeFirst();
      // Its successor already used (the login moved on) or revoked: this is a replay, not a retry.
      if (next && (next.used_at !== null || next.revoked_at !== null)) return revokeFamily();
      // Retired by a release that gave random successors: from now on this one, and only this one.
      if (!next) return { kind: "ok" as const, pair: await this.issue(trx, row.user_id, row.family_id, successor) };
      return { kind: "ok" as const, pair: await this.pair(row.user_id, successor.token) };
    });
    // Thrown after the transaction so the family revocation above is committed, not rolled back.
    if (outcome.kind !== "ok") throw unauthorized(INVALID_REFRESH);
    return outcome.pair;
  }

  /** Ends the login the token belongs to. Idempotent: an unknown token is not an error. */
  async logout(refreshToken: string): Promise<void> {
    const hash = hashRefreshToken(refreshToken);
    await this.db
      .updateTable("refresh_tokens")
      .set({ revoked_at: sql<Date>`now()` })
      .where("family_id", "=", (eb) =>
        eb.selectFrom("refresh_tokens").select("family_id").where("token_hash", "=", hash),
      )
      .where("revoked_at", "is", null)
      .execute();
  }

  private async issue(
    db: Kysely<Database>,
    userId: number,
    familyId: string,
    refresh: { token: string; hash: string } = newRefreshToken(),
  ): Promise<TokenPair> {
    await db
      .insertInto("refresh_tokens")
      .values({
        user_id: userId,
        token_hash: refresh.hash,
        family_id: familyId,
        expires_at: new Date(Date.now() + this.refreshTtlDays * DAY_MS),
      })
      .execute();
    return this.pair(userId, refresh.token);
  }

  private async pair(userId: number, refreshToken: string): Promise<TokenPair> {
    return {
      access_token: await this.accessTokens.issue(userId),
      token_type: "bearer",
      expires_in: this.accessTokens.ttlSeconds,
      refresh_token: refreshToken,
    };
  }
}
