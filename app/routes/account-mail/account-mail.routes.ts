import { createRoute, z } from "@hono/zod-openapi";
import { rateLimit, rateLimitPerUser } from "../../http/rate-limit.js";
import { requireAuth } from "../../http/require-auth.js";
import { bearerSecurity, errorResponses, json, publicSecurity, variantNames } from "../../http/schemas.js";
import { EmailOnly, PasswordResetConfirm, User, VerifyEmailRequest } from "../users/users.schemas.js";

const tags = ["Accounts"];
const jsonBody = <T>(schema: T) => ({ required: true, content: { "application/json": { schema } } });
const Accepted = z
  .object({ status: z.enum(["accepted"]).openapi("AcceptedStatus", variantNames(["accepted"])) })
  .openapi("Accepted");
const NO_MAIL = " Without mail configured on the server (production), 503 `unavailable`.";

export const requestPasswordReset = createRoute({
  method: "post",
  path: "/api/v1/auth/password-reset",
  operationId: "requestPasswordReset",
  tags,
  security: publicSecurity,
  summary: "Mail a password-reset code (202 whether or not the address is registered)",
  description:
    "The code is valid 30 minutes, once; a newer request retires it. Rate limited per client address and per address asked for." +
    NO_MAIL,
  middleware: rateLimit("password-reset", (c) => c.var.services.passwordResetLimiter),
  request: { body: jsonBody(EmailOnly) },
  responses: {
    202: json(Accepted, "Accepted: if the address is registered, a mail is on its way"),
    ...errorResponses(400, 413, 422, 429),
  },
});

export const confirmPasswordReset = createRoute({
  method: "post",
  path: "/api/v1/auth/password-reset/confirm",
  operationId: "confirmPasswordReset",
  tags,
  security: publicSecurity,
  summary: "Set a new password with the mailed code; signs out every session",
  description: `A wrong, used or expired code is 400 \`invalid_token\`.${NO_MAIL}`,
  request: { body: jsonBody(PasswordResetConfirm) },
  responses: {
    204: { description: "Password changed; every refresh token revoked" },
    ...errorResponses(400, 413, 422),
  },
});

export const requestEmailVerification = createRoute({
  method: "post",
  path: "/api/v1/users/me/email-verification",
  operationId: "requestEmailVerification",
  tags,
  security: bearerSecurity,
  summary: "Mail a new verification code to my address",
  description: `Rate limited per user.${NO_MAIL}`,
  middleware: [requireAuth, rateLimitPerUser("email-verification", (c) => c.var.services.passwordLimiter)],
  responses: { 202: json(Accepted, "Accepted: a mail is on its way"), ...errorResponses(401, 429) },
});

export const verifyEmail = createRoute({
  method: "post",
  path: "/api/v1/auth/verify-email",
  operationId: "verifyEmail",
  tags,
  security: publicSecurity,
  summary: "Confirm the e-mail address with the mailed code",
  description:
    "A wrong, used or expired code, or one sent to an address the account no longer has, is 400 `invalid_token`." +
    NO_MAIL,
  request: { body: jsonBody(VerifyEmailRequest) },
  responses: { 200: json(User, "The account, with email_verified: true"), ...errorResponses(400, 413, 422) },
});
