import { randomUUID } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./app-env.js";

// Printable, header- and log-safe, bounded: anything else is replaced rather than echoed.
const VALID_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export const requestId: MiddlewareHandler<AppEnv> = async (c, next) => {
  const incoming = c.req.header("x-request-id");
  const id = incoming && VALID_REQUEST_ID.test(incoming) ? incoming : randomUUID();
  c.set("requestId", id);
  await next();
  c.res.headers.set("X-Request-Id", id);
  // The contract promises `application/json; charset=utf-8`; Hono's c.json omits the charset.
  if (c.res.headers.get("content-type") === "application/json") {
    c.res.headers.set("Content-Type", "application/json; charset=utf-8");
  }
};
