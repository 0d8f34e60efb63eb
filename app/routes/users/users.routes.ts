import { createRoute } from "@hono/zod-openapi";
import { bodyRequired } from "../../http/body-required.js";
import { rateLimitPerUser } from "../../http/rate-limit.js";
import { requireAuth } from "../../http/require-auth.js";
import { bearerSecurity, errorResponses, json, publicSecurity } from "../../http/schemas.js";
import { ChangePasswordRequest, RegisterRequest, UpdateMeRequest, User } from "./users.schemas.js";

const tags = ["Accounts"];
const jsonBody = <T>(schema: T) => ({ required: true, content: { "application/json": { schema } } });

export const register = createRoute({
  method: "post",
  path: "/api/v1/users",
  operationId: "registerUser",
  tags,
  security: publicSecurity,
  summary: "Register an account (rate limited per client address)",
  request: { body: jsonBody(RegisterRequest) },
  responses: {
    201: {
      ...json(User, "Created"),
      headers: { Location: { description: "/api/v1/users/me", required: true, schema: { type: "string" } } },
    },
    ...errorResponses(400, 409, 413, 422, 429),
  },
});

export const getMe = createRoute({
  method: "get",
  path: "/api/v1/users/me",
  operationId: "getMe",
  tags,
  summary: "The signed-in account",
  security: bearerSecurity,
  middleware: requireAuth,
  responses: { 200: json(User, "The account"), ...errorResponses(401) },
});

export const updateMe = createRoute({
  method: "patch",
  path: "/api/v1/users/me",
  operationId: "updateMe",
  tags,
  summary: "Change email and/or full name (full_name may be null)",
  description:
    "A new `email` needs `current_password` (422 on `current_password` when missing or wrong; password checks are rate " +
    "limited per user), starts unverified and gets a verification mail.",
  security: bearerSecurity,
  middleware: [requireAuth, bodyRequired],
  request: { body: jsonBody(UpdateMeRequest) },
  responses: { 200: json(User, "The updated account"), ...errorResponses(400, 401, 409, 413, 422, 429) },
});

export const changePassword = createRoute({
  method: "put",
  path: "/api/v1/users/me/password",
  operationId: "changePassword",
  tags,
  summary: "Change the password; signs out every session (all refresh tokens revoked)",
  description:
    "A wrong `current_password` is 422 with a detail on `current_password`. Attempts are rate limited per user " +
    "(10 a minute by default) → 429 with Retry-After.",
  security: bearerSecurity,
  middleware: [requireAuth, rateLimitPerUser("password-change", (c) => c.var.services.passwordLimiter)],
  request: { body: jsonBody(ChangePasswordRequest) },
  responses: { 204: { description: "Changed" }, ...errorResponses(400, 401, 413, 422, 429) },
});

export const deleteMe = createRoute({
  method: "delete",
  path: "/api/v1/users/me",
  operationId: "deleteMe",
  tags,
  summary: "Delete the account with all its todos and tokens",
  security: bearerSecurity,
  middleware: requireAuth,
  responses: { 204: { description: "Deleted" }, ...errorResponses(401) },
});
