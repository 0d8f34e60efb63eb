import type { AppRouteHandler } from "../../http/create-router.js";
import type * as routes from "./users.routes.js";

export const register: AppRouteHandler<typeof routes.register> = async (c) => {
  const user = await c.var.services.users.register(c.req.valid("json"));
  c.header("Location", "/api/v1/users/me");
  return c.json(user, 201);
};

export const getMe: AppRouteHandler<typeof routes.getMe> = async (c) => c.json(await c.var.services.users.get(c.var.userId), 200);

export const updateMe: AppRouteHandler<typeof routes.updateMe> = async (c) =>
  c.json(await c.var.services.users.update(c.var.userId, c.req.valid("json")), 200);

export const changePassword: AppRouteHandler<typeof routes.changePassword> = async (c) => {
  const body = c.req.valid("json");
  await c.var.services.users.changePassword(c.var.userId, body.current_password, body.new_password);
  return c.body(null, 204);
};

export const deleteMe: AppRouteHandler<typeof routes.deleteMe> = async (c) => {
  await c.var.services.users.delete(c.var.userId);
  return c.body(null, 204);
};
