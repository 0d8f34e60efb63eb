import { SignJWT, errors as joseErrors, jwtVerify } from "jose";
import { unauthorized } from "../errors.js";

export interface AccessTokenSettings {
  secret: Uint8Array;
  issuer: string;
  audience: string;
  ttlSeconds: number;
}

const CACHE_LIMIT = 10_000;

export interface VerifiedToken {
  userId: number;
  /** `iat`, in seconds since the epoch. */
  issuedAt: number;
  expiresAtMs: number;
}

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
  private readonly verified = new Map<string, VerifiedToken>();

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
    return (await this.verifyClaims(token)).userId;
  }

  /** The user id and issue time (`iat`, seconds) of a valid token; throws 401 for anything else. */
  async verifyClaims(token: string): Promise<VerifiedToken> {
    const cached = this.verified.get(token);
    if (cached) {
      if (Date.now() < cached.expiresAtMs) return cached;
      this.verified.delete(token);
    }
    const verified = await this.verifyWithJose(token);
    if (this.verified.size >= CACHE_LIMIT) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, verified);
    return verified;
  }

  private async verifyWithJose(token: string): Promise<VerifiedToken> {
    try {
      const { payload } = await jwtVerify(token, this.settings.secret, {
        algorithms: ["HS256"],
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        requiredClaims: ["sub", "iat", "exp"],
      });
      const sub = payload.sub ?? "";
      if (!/^[1-9]\d{0,15}$/.test(sub)) throw unauthorized();
      return { userId: Number(sub), issuedAt: payload.iat!, expiresAtMs: payload.exp! * 1000 };
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw unauthorized("The access token has expired.");
      if (err instanceof joseErrors.JOSEError || err instanceof TypeError) throw unauthorized();
      throw err;
    }
  }
}
