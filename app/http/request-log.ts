import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import type { Logger } from "../logger.js";
import type { AppEnv } from "./app-env.js";

/**
 * One line per request: id, method, route pattern (not the raw URL), status, latency. Headers,
 * query values and bodies are never logged, so no token or password can leak through here; that
 * is why `log` may be an `accessLogger` without redaction.
 */
export const requestLog =
  (log: Logger): MiddlewareHandler<AppEnv> =>
  async (c, next) => {
    const started = performance.now();
    await next();
    const status = c.res.status;
    const line = {
      req_id: c.var.requestId,
      method: c.req.method,
      route: routePath(c, -1),
      status,
      latency_ms: Math.round((performance.now() - started) * 100) / 100,
    };
    if (status >= 500) log.warn(line, "request failed");
    else log.info(line, "request");
  };
