import type { MiddlewareHandler } from "hono";
import { validationFailed } from "../errors.js";
import type { AppEnv } from "./app-env.js";

/**
 * For routes whose JSON body is required but whose fields are all optional (PATCH): without it the
 * validator would judge an absent body as `{}` and answer 200 for a request the document calls
 * invalid. An absent body is 422, like any missing required part.
 */
export const bodyRequired: MiddlewareHandler<AppEnv> = async (c, next) => {
  const length = c.req.header("content-length");
  const absent =
    c.req.header("content-type") === undefined &&
    c.req.header("transfer-encoding") === undefined &&
    (length === undefined || length.trim() === "0");
  if (absent) throw validationFailed([{ path: "", message: "a JSON body is required" }]);
  await next();
};
