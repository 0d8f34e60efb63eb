import { createRoute } from "@hono/zod-openapi";
import { errorResponses, json } from "../../http/schemas.js";
import { LoginForm, LoginJson, RefreshRequest, Token } from "./auth.schemas.js";

const tags = ["Sessions"];

export const token = createRoute({
  method: "post",
  path: "/api/v1/auth/token",
  tags,
  summary: "Log in with username (or email) and password (rate limited per client address)",
  description:
    "Accepts the OAuth2 password grant as `application/x-www-form-urlencoded` or the same fields as JSON. " +
    "Wrong username and wrong password give the same 401.",
  request: {
    body: {
      // Not `required`: exactly one of the two media types is expected; the handler enforces it.
      required: false,
      content: {
        "application/x-www-form-urlencoded": { schema: LoginForm },
        "application/json": { schema: LoginJson },
      },
    },
  },
  responses: { 200: json(Token, "A new token pair"), ...errorResponses(400, 401, 413, 422, 429) },
});

export const refresh = createRoute({
  method: "post",
  path: "/api/v1/auth/refresh",
  tags,
  summary: "Trade a refresh token for a new pair (single use; reuse revokes the whole login)",
  request: { body: { required: true, content: { "application/json": { schema: RefreshRequest } } } },
  responses: { 200: json(Token, "A new token pair"), ...errorResponses(400, 401, 413, 422) },
});

export const logout = createRoute({
  method: "post",
  path: "/api/v1/auth/logout",
  tags,
  summary: "End the login the refresh token belongs to (idempotent)",
  request: { body: { required: true, content: { "application/json": { schema: RefreshRequest } } } },
  responses: { 204: { description: "Logged out" }, ...errorResponses(400, 413, 422) },
});
