import { SignJWT, errors as joseErrors, jwtVerify } from "jose";
import { unauthorized } from "../errors.js";

export interface AccessTokenSettings {
  secret: Uint8Array;
  issuer: string;
  audience: string;
  ttlSeconds: number;
}

/** Short-lived HS256 JWTs. Verification pins the algorithm, issuer and audience. */
export class AccessTokens {
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
    try {
      const { payload } = await jwtVerify(token, this.settings.secret, {
        algorithms: ["HS256"],
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        requiredClaims: ["sub", "iat", "exp"],
      });
      const sub = payload.sub ?? "";
      if (!/^[1-9]\d{0,15}$/.test(sub)) throw unauthorized();
      return Number(sub);
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw unauthorized("The access token has expired.");
      if (err instanceof joseErrors.JOSEError || err instanceof TypeError) throw unauthorized();
      throw err;
    }
  }
}
