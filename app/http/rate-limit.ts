import type { MiddlewareHandler } from "hono";
import { getConnInfo } from "@hono/node-server/conninfo";
import type { RateLimiter } from "../services/rate-limit.js";
import type { AppEnv } from "./app-env.js";

/** Counts the attempt against the client's address before the body is even parsed. */
export function rateLimit(scope: string, pick: (c: { var: AppEnv["Variables"] }) => RateLimiter): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const peer = c.env?.incoming ? getConnInfo(c).remote.address : undefined;
    const address = c.var.services.clientAddress.resolve(peer, c.req.header("x-forwarded-for"));
    await pick(c).consume(`${scope}:${address}`);
    await next();
  };
}
