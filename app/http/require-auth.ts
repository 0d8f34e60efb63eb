import type { MiddlewareHandler } from "hono";
import { unauthorized } from "../errors.js";
import type { AppEnv } from "./app-env.js";

/**
 * Verifies the bearer token (signature, algorithm, issuer, audience, expiry), then that the account
 * still exists: the token of an account deleted a moment ago stops at once, before any route's
 * middleware (idempotency keys, rate limits) can do work for an account that is gone. One indexed
 * primary-key read per request.
 */
export const requireAuth: MiddlewareHandler<AppEnv> = async (c, next) => {
  const header = c.req.header("authorization");
  const match = header ? /^Bearer[ ]+([A-Za-z0-9\-_.~+/]+=*)\s*$/i.exec(header) : null;
  if (!match)
    throw unauthorized(
      header ? "The Authorization header must be `Bearer <access_token>`." : "Authentication required.",
    );
  const userId = await c.var.services.accessTokens.verify(match[1]!);
  if (!(await c.var.services.users.exists(userId))) throw unauthorized();
  c.set("userId", userId);
  await next();
  // Per-user data: a shared cache must not keep it, and a client revalidates it (ETag) before
  // reuse. Set on the finished response (errors included), like X-Request-Id: a header prepared
  // with c.header() before the handler would cost every response a full Headers object.
  c.res.headers.set("Cache-Control", "private, no-cache");
};
