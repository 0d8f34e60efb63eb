import type { Context, MiddlewareHandler } from "hono";
import { getConnInfo } from "@hono/node-server/conninfo";
import { RateLimitExceeded, type RateLimiter, type RateLimitState } from "../services/rate-limiter.js";
import type { AppEnv } from "./app-env.js";

/** The state announced so far for a request that passes more than one limiter. */
const announced = new WeakMap<Context, RateLimitState>();

/**
 * The RateLimit-* headers, on every response of a limited route (the 429 included). Where a request
 * passes two limiters (password-reset: per client, then per address asked for), the headers
 * describe the one with the fewest requests left, so they never promise more than applies.
 */
export function sendRateLimitState(c: Context, state: RateLimitState, exceeded = false): void {
  const previous = announced.get(c);
  if (!exceeded && previous && previous.remaining <= state.remaining) return;
  announced.set(c, state);
  c.header("RateLimit-Limit", String(state.limit));
  c.header("RateLimit-Remaining", String(state.remaining));
  c.header("RateLimit-Reset", String(state.resetSeconds));
}

/** Counts one attempt under `key`; sets the RateLimit-* headers; 429 over the limit. */
export async function consumeAttempt(c: Context, limiter: RateLimiter, key: string): Promise<void> {
  try {
    sendRateLimitState(c, await limiter.consume(key));
  } catch (err) {
    if (err instanceof RateLimitExceeded) sendRateLimitState(c, err.state, true);
    throw err;
  }
}

/** Counts the attempt against the client's address before the body is even parsed. */
export function rateLimit(
  scope: string,
  pick: (c: { var: AppEnv["Variables"] }) => RateLimiter,
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const peer = c.env?.incoming ? getConnInfo(c).remote.address : undefined;
    const address = c.var.clientAddress.resolve(peer, c.req.header("x-forwarded-for"));
    await consumeAttempt(c, pick(c), `${scope}:${address}`);
    await next();
  };
}

/** Per signed-in user (after requireAuth): password checks of a session. */
export function rateLimitPerUser(
  scope: string,
  pick: (c: { var: AppEnv["Variables"] }) => RateLimiter,
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await consumeAttempt(c, pick(c), `${scope}:user:${c.var.userId}`);
    await next();
  };
}
