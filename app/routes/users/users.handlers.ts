import { applyClear } from "../../http/clear-fields.js";
import type { AppRouteHandler } from "../../http/create-router.js";
import { consumeAttempt } from "../../http/rate-limit.js";
import type * as routes from "./users.routes.js";

export const register: AppRouteHandler<typeof routes.register> = async (c) => {
  const user = await c.var.services.users.register(c.req.valid("json"));
  // After the response; a mail that cannot be sent is logged and never fails the registration.
  if (c.var.services.accountMail.mailAvailable) c.var.services.accountMail.sendVerification(user.id, c.var.logger);
  c.header("Location", "/api/v1/users/me");
  return c.json(user, 201);
};

export const getMe: AppRouteHandler<typeof routes.getMe> = async (c) =>
  c.json(await c.var.services.users.get(c.var.userId), 200);

export const updateMe: AppRouteHandler<typeof routes.updateMe> = async (c) => {
  const { current_password, ...changes } = applyClear(c.req.valid("json"));
  // A password check of a signed-in user: limited per user like PUT /users/me/password, in a bucket
  // of its own, so changing the e-mail never uses up the budget for changing the password.
  if (current_password !== undefined)
    await consumeAttempt(c, c.var.services.passwordLimiter, `email-change:user:${c.var.userId}`);
  const { emailChanged, ...user } = await c.var.services.users.update(c.var.userId, changes, current_password);
  if (emailChanged && c.var.services.accountMail.mailAvailable)
    c.var.services.accountMail.sendVerification(user.id, c.var.logger);
  return c.json(user, 200);
};

export const changePassword: AppRouteHandler<typeof routes.changePassword> = async (c) => {
  const body = c.req.valid("json");
  await c.var.services.users.changePassword(c.var.userId, body.current_password, body.new_password);
  return c.body(null, 204);
};

export const deleteMe: AppRouteHandler<typeof routes.deleteMe> = async (c) => {
  await c.var.services.users.delete(c.var.userId);
  c.var.services.fileJanitor.poke();
  return c.body(null, 204);
};
