import { badRequest } from "../../errors.js";
import type { AppRouteHandler } from "../../http/create-router.js";
import type * as routes from "./auth.routes.js";

/** RFC 6749 §5.1: tokens must never sit in a cache. */
const NO_STORE = { "Cache-Control": "no-store", Pragma: "no-cache" };

export const token: AppRouteHandler<typeof routes.token> = async (c) => {
  const mediaType = (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  let credentials: { username: string; password: string };
  if (mediaType === "application/x-www-form-urlencoded") credentials = c.req.valid("form");
  else if (mediaType === "application/json") credentials = c.req.valid("json");
  else throw badRequest("Send the credentials as application/x-www-form-urlencoded or application/json.");
  return c.json(await c.var.services.auth.login(credentials.username, credentials.password), 200, NO_STORE);
};

export const refresh: AppRouteHandler<typeof routes.refresh> = async (c) =>
  c.json(await c.var.services.auth.refresh(c.req.valid("json").refresh_token), 200, NO_STORE);

export const logout: AppRouteHandler<typeof routes.logout> = async (c) => {
  await c.var.services.auth.logout(c.req.valid("json").refresh_token);
  return c.body(null, 204);
};
