import type { MiddlewareHandler } from "hono";
import { forbidden, unauthorized } from "../errors.js";
import type { AppEnv } from "./app-env.js";

/**
 * Verifies the bearer token (signature, algorithm, issuer, audience, expiry), then reads the
 * account's state (services/account-status.ts): deleted, disabled or signed-out accounts are 401,
 * and the role is the database's, never the token's.
 */
export const requireAuth: MiddlewareHandler<AppEnv> = async (c, next) => {
  const header = c.req.header("authorization");
  const match = header ? /^Bearer[ ]+([A-Za-z0-9\-_.~+/]+=*)\s*$/i.exec(header) : null;
  if (!match)
    throw unauthorized(
      header ? "The Authorization header must be `Bearer <access_token>`." : "Authentication required.",
    );
  const token = await c.var.services.accessTokens.verifyClaims(match[1]!);
  c.set("role", await c.var.services.accountStatus.authenticate(token.userId, token.issuedAt));
  c.set("userId", token.userId);
  await next();
  // Per-user data: a shared cache must not keep it, and a client revalidates it (ETag) before
  // reuse. Set on the finished response (errors included), like X-Request-Id: a header prepared
  // with c.header() before the handler would cost every response a full Headers object.
  c.res.headers.set("Cache-Control", "private, no-cache");
};

/** After `requireAuth`: only an administrator (by the role just read from the database) passes. */
export const requireAdmin: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (c.var.role !== "admin") throw forbidden();
  await next();
};
