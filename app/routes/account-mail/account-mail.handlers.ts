import { consumeAttempt } from "../../http/rate-limit.js";
import type { AppRouteHandler } from "../../http/create-router.js";
import type * as routes from "./account-mail.routes.js";
import { foldAscii } from "../../services/canonical.js";

export const requestPasswordReset: AppRouteHandler<typeof routes.requestPasswordReset> = async (c) => {
  const mail = c.var.services.accountMail;
  mail.requireMail();
  const { email } = c.req.valid("json");
  // Per address asked for, too: nobody can flood one mailbox from many client addresses.
  await consumeAttempt(c, c.var.services.passwordResetLimiter, `password-reset:email:${foldAscii(email)}`);
  mail.requestPasswordReset(email, c.var.logger);
  return c.json({ status: "accepted" as const }, 202);
};

export const confirmPasswordReset: AppRouteHandler<typeof routes.confirmPasswordReset> = async (c) => {
  c.var.services.accountMail.requireMail();
  const body = c.req.valid("json");
  await c.var.services.accountMail.confirmPasswordReset(body.token, body.new_password);
  return c.body(null, 204);
};

export const requestEmailVerification: AppRouteHandler<typeof routes.requestEmailVerification> = async (c) => {
  const mail = c.var.services.accountMail;
  mail.requireMail();
  await c.var.services.users.get(c.var.userId); // 401 for a deleted account
  mail.sendVerification(c.var.userId, c.var.logger);
  return c.json({ status: "accepted" as const }, 202);
};

export const verifyEmail: AppRouteHandler<typeof routes.verifyEmail> = async (c) => {
  c.var.services.accountMail.requireMail();
  // The account's data on a public route: no cache may keep it.
  return c.json(await c.var.services.accountMail.verifyEmail(c.req.valid("json").token), 200, {
    "Cache-Control": "no-store",
  });
};
