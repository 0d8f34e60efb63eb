import type { MiddlewareHandler } from "hono";
import { forbidden, unauthorized } from "../errors.js";
import type { RateLimitState } from "../services/rate-limiter.js";
import { sendRateLimitState } from "./rate-limit.js";
import type { AppEnv } from "./app-env.js";

/**
 * Verifies the bearer token (signature, algorithm, issuer, audience, expiry). Then the request takes
 * its turn in the account's share of the process (services/account-share.ts), so even the account
 * check below is bounded per account; then it reads the account's state
 * (services/account-status.ts): deleted, disabled or signed-out accounts are 401, and the role is
 * the database's, never the token's. All of it before any route's middleware (idempotency keys,
 * rate limits) can do work for an account that is gone.
 */
export const requireAuth: MiddlewareHandler<AppEnv> = async (c, next) => {
  const header = c.req.header("authorization");
  const match = header ? /^Bearer[ ]+([A-Za-z0-9\-_.~+/]+=*)\s*$/i.exec(header) : null;
  if (!match)
    throw unauthorized(
      header ? "The Authorization header must be `Bearer <access_token>`." : "Authentication required.",
    );
  const token = await c.var.services.accessTokens.verifyClaims(match[1]!);
  c.set("userId", token.userId);
  let state: RateLimitState | undefined;
  try {
    await c.var.services.accountShare.run(
      token.userId,
      (s) => (state = s),
      async () => {
        c.set("role", await c.var.services.accountStatus.authenticate(token.userId, token.issuedAt));
        await next();
      },
    );
  } catch (err) {
    if (state) sendRateLimitState(c, state);
    throw err;
  }
  // A route's own, stricter limit (password checks) already said its state: that one applies.
  if (state && !c.res.headers.has("RateLimit-Remaining")) {
    c.res.headers.set("RateLimit-Limit", String(state.limit));
    c.res.headers.set("RateLimit-Remaining", String(state.remaining));
    c.res.headers.set("RateLimit-Reset", String(state.resetSeconds));
  }
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
