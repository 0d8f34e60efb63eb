import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import type { AppEnv } from "./app-env.js";

/**
 * One line per request: id, method, route pattern (not the raw URL), status, latency. Headers,
 * query values and bodies are never logged, so no token or password can leak through here.
 */
export const requestLog: MiddlewareHandler<AppEnv> = async (c, next) => {
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
  if (status >= 500) c.var.logger.warn(line, "request failed");
  else c.var.logger.info(line, "request");
};
