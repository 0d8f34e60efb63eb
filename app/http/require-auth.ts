import type { MiddlewareHandler } from "hono";
import { unauthorized } from "../errors.js";
import type { AppEnv } from "./app-env.js";

/**
 * Verifies the bearer token (signature, algorithm, issuer, audience, expiry) without a database
 * round trip. Whether the account still exists is folded into each route's own query.
 */
export const requireAuth: MiddlewareHandler<AppEnv> = async (c, next) => {
  const header = c.req.header("authorization");
  const match = header ? /^Bearer[ ]+([A-Za-z0-9\-_.~+/]+=*)\s*$/i.exec(header) : null;
  if (!match)
    throw unauthorized(
      header ? "The Authorization header must be `Bearer <access_token>`." : "Authentication required.",
    );
  c.set("userId", await c.var.services.accessTokens.verify(match[1]!));
  await next();
  // Per-user data: a shared cache must not keep it, and a client revalidates it (ETag) before
  // reuse. Set on the finished response (errors included), like X-Request-Id: a header prepared
  // with c.header() before the handler would cost every response a full Headers object.
  c.res.headers.set("Cache-Control", "private, no-cache");
};
