import type { MiddlewareHandler } from "hono";
import { unauthorized } from "../errors.js";
import type { RateLimitState } from "../services/rate-limit.js";
import { sendRateLimitState } from "./rate-limit.js";
import type { AppEnv } from "./app-env.js";

/**
 * Verifies the bearer token (signature, algorithm, issuer, audience, expiry) without a database
 * round trip. Whether the account still exists is folded into each route's own query. Then the
 * request takes its turn in the account's share of the process (services/account-share.ts).
 */
export const requireAuth: MiddlewareHandler<AppEnv> = async (c, next) => {
  const header = c.req.header("authorization");
  const match = header ? /^Bearer[ ]+([A-Za-z0-9\-_.~+/]+=*)\s*$/i.exec(header) : null;
  if (!match)
    throw unauthorized(
      header ? "The Authorization header must be `Bearer <access_token>`." : "Authentication required.",
    );
  const userId = await c.var.services.accessTokens.verify(match[1]!);
  c.set("userId", userId);
  let state: RateLimitState | undefined;
  try {
    await c.var.services.accountShare.run(userId, (s) => (state = s), next);
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
