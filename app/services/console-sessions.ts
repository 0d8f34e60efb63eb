import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { SignJWT, jwtVerify } from "jose";

/** How long a console sign-in lasts. */
export const CONSOLE_SESSION_SECONDS = 8 * 3600;
const AUDIENCE = "todo-admin-console";

export interface ConsoleSession {
  userId: number;
  /** `iat` in seconds: "revoke sessions" ends console sessions too (AccountStatusService). */
  issuedAt: number;
  /** The form token of this session (CSRF): every form carries it, every POST must. */
  csrf: string;
}

/**
 * The admin console's sign-in, kept in a cookie: a JWT signed with a key derived from the API's
 * secret for this purpose only (an API access token is never a console session, nor the other way
 * round), with its own audience. It names the account only; whether that account is still an
 * enabled administrator is read from the database on every request.
 */
export class ConsoleSessions {
  private readonly key: Uint8Array;

  constructor(secret: Uint8Array) {
    this.key = createHmac("sha256", secret).update("admin-console-session").digest();
  }

  async issue(userId: number): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ sid: randomBytes(16).toString("base64url") })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setSubject(String(userId))
      .setAudience(AUDIENCE)
      .setIssuedAt(now)
      .setExpirationTime(now + CONSOLE_SESSION_SECONDS)
      .sign(this.key);
  }

  /** The session a cookie holds, or undefined for anything invalid or expired. */
  async read(cookie: string | undefined): Promise<ConsoleSession | undefined> {
    if (!cookie || cookie.length > 1024) return undefined;
    try {
      const { payload } = await jwtVerify(cookie, this.key, {
        algorithms: ["HS256"],
        audience: AUDIENCE,
        requiredClaims: ["sub", "iat", "exp", "sid"],
      });
      if (!/^[1-9]\d{0,15}$/.test(payload.sub ?? "") || typeof payload.sid !== "string") return undefined;
      return { userId: Number(payload.sub), issuedAt: payload.iat!, csrf: this.csrfOf(payload.sid) };
    } catch {
      return undefined;
    }
  }

  /** Whether a submitted form token is this session's. */
  csrfMatches(session: ConsoleSession, submitted: unknown): boolean {
    if (typeof submitted !== "string") return false;
    const a = Buffer.from(session.csrf);
    const b = Buffer.from(submitted);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  private csrfOf(sid: string): string {
    return createHmac("sha256", this.key).update(`csrf:${sid}`).digest("base64url");
  }
}
