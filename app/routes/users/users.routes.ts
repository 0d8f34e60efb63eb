import { createRoute } from "@hono/zod-openapi";
import { requireAuth } from "../../http/require-auth.js";
import { bearerSecurity, errorResponses, json } from "../../http/schemas.js";
import { ChangePasswordRequest, RegisterRequest, UpdateMeRequest, User } from "./users.schemas.js";

const tags = ["Accounts"];
const jsonBody = <T>(schema: T) => ({ required: true, content: { "application/json": { schema } } });

export const register = createRoute({
  method: "post",
  path: "/api/v1/users",
  tags,
  summary: "Register an account (rate limited per client address)",
  request: { body: jsonBody(RegisterRequest) },
  responses: {
    201: {
      ...json(User, "Created"),
      headers: { Location: { description: "/api/v1/users/me", schema: { type: "string" } } },
    },
    ...errorResponses(400, 409, 413, 422, 429),
  },
});

export const getMe = createRoute({
  method: "get",
  path: "/api/v1/users/me",
  tags,
  summary: "The signed-in account",
  security: bearerSecurity,
  middleware: requireAuth,
  responses: { 200: json(User, "The account"), ...errorResponses(401) },
});

export const updateMe = createRoute({
  method: "patch",
  path: "/api/v1/users/me",
  tags,
  summary: "Change email and/or full name (full_name may be null)",
  security: bearerSecurity,
  middleware: requireAuth,
  request: { body: jsonBody(UpdateMeRequest) },
  responses: { 200: json(User, "The updated account"), ...errorResponses(400, 401, 409, 413, 422) },
});

export const changePassword = createRoute({
  method: "put",
  path: "/api/v1/users/me/password",
  tags,
  summary: "Change the password; signs out every session (all refresh tokens revoked)",
  description: "A wrong `current_password` is 422 with a detail on `current_password`.",
  security: bearerSecurity,
  middleware: requireAuth,
  request: { body: jsonBody(ChangePasswordRequest) },
  responses: { 204: { description: "Changed" }, ...errorResponses(400, 401, 413, 422) },
});

export const deleteMe = createRoute({
  method: "delete",
  path: "/api/v1/users/me",
  tags,
  summary: "Delete the account with all its todos and tokens",
  security: bearerSecurity,
  middleware: requireAuth,
  responses: { 204: { description: "Deleted" }, ...errorResponses(401) },
});
