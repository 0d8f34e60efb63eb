import { SignJWT, errors as joseErrors, jwtVerify } from "jose";
import { unauthorized } from "../errors.js";

export interface AccessTokenSettings {
  secret: Uint8Array;
  issuer: string;
  audience: string;
  ttlSeconds: number;
}

const CACHE_LIMIT = 10_000;

/**
 * Short-lived HS256 JWTs. Verification pins the algorithm, issuer and audience.
 *
 * A client sends the same token on every request for up to 15 minutes, and jose verifies through
 * WebCrypto (an asynchronous job per call). So the result of a successful verification is
 * remembered by exact token string until the token expires. The map is bounded, and the oldest
 * entry is evicted first. Only success is cached: a forged token is checked every time, and
 * a cached token's expiry is checked on every hit.
 */
export class AccessTokens {
  private readonly verified = new Map<string, { userId: number; expiresAtMs: number }>();

  constructor(private readonly settings: AccessTokenSettings) {}

  get ttlSeconds(): number {
    return this.settings.ttlSeconds;
  }

  async issue(userId: number): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({})
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setSubject(String(userId))
      .setIssuer(this.settings.issuer)
      .setAudience(this.settings.audience)
      .setIssuedAt(now)
      .setExpirationTime(now + this.settings.ttlSeconds)
      .sign(this.settings.secret);
  }

  /** Returns the user id the token was issued to; throws 401 for anything else. */
  async verify(token: string): Promise<number> {
    const cached = this.verified.get(token);
    if (cached) {
      if (Date.now() < cached.expiresAtMs) return cached.userId;
      this.verified.delete(token);
    }
    const { userId, expiresAtMs } = await this.verifyWithJose(token);
    if (this.verified.size >= CACHE_LIMIT) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, { userId, expiresAtMs });
    return userId;
  }

  private async verifyWithJose(token: string): Promise<{ userId: number; expiresAtMs: number }> {
    try {
      const { payload } = await jwtVerify(token, this.settings.secret, {
        algorithms: ["HS256"],
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        requiredClaims: ["sub", "iat", "exp"],
      });
      const sub = payload.sub ?? "";
      if (!/^[1-9]\d{0,15}$/.test(sub)) throw unauthorized();
      return { userId: Number(sub), expiresAtMs: payload.exp! * 1000 };
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw unauthorized("The access token has expired.");
      if (err instanceof joseErrors.JOSEError || err instanceof TypeError) throw unauthorized();
      throw err;
    }
  }
}
