import { createRoute } from "@hono/zod-openapi";
import { errorResponses, json, publicSecurity } from "../../http/schemas.js";
import { LoginForm, LoginJson, RefreshRequest, Token } from "./auth.schemas.js";

const tags = ["Sessions"];
const security = publicSecurity;
/** RFC 6749 §5.1: token responses must not be stored by any cache. */
const tokenResponse = (description: string) => ({
  ...json(Token, description),
  headers: {
    "Cache-Control": { description: "`no-store`", required: true, schema: { type: "string" as const } },
  },
});

export const token = createRoute({
  method: "post",
  path: "/api/v1/auth/token",
  operationId: "login",
  tags,
  security,
  summary: "Log in with username (or email) and password (rate limited per client address)",
  description:
    "Accepts the OAuth2 password grant as `application/x-www-form-urlencoded` or the same fields as JSON. " +
    "Wrong username and wrong password give the same 401.",
  request: {
    body: {
      // Exactly one of the two media types is expected; the handler enforces it. `false` here
      // because @hono/zod-openapi would otherwise validate both media types on every request;
      // the published document says `required: true` (docs.ts, finishDocument), which is the truth.
      required: false,
      content: {
        "application/x-www-form-urlencoded": { schema: LoginForm },
        "application/json": { schema: LoginJson },
      },
    },
  },
  responses: { 200: tokenResponse("A new token pair"), ...errorResponses(400, 401, 403, 413, 422, 429) },
});

export const refresh = createRoute({
  method: "post",
  path: "/api/v1/auth/refresh",
  operationId: "refreshToken",
  tags,
  security,
  summary: "Trade a refresh token for a new pair (single use; reuse revokes the whole login)",
  description:
    "A refresh token retired less than 30 seconds ago (REFRESH_REUSE_GRACE_SECONDS) may be presented again and yields " +
    "another pair of the same login, so parallel refreshes or a retry after a lost response do not log the user out. " +
    "Later reuse revokes every token of that login.",
  request: { body: { required: true, content: { "application/json": { schema: RefreshRequest } } } },
  responses: { 200: tokenResponse("A new token pair"), ...errorResponses(400, 401, 413, 422) },
});

export const logout = createRoute({
  method: "post",
  path: "/api/v1/auth/logout",
  operationId: "logout",
  tags,
  security,
  summary: "End the login the refresh token belongs to (idempotent)",
  request: { body: { required: true, content: { "application/json": { schema: RefreshRequest } } } },
  responses: { 204: { description: "Logged out" }, ...errorResponses(400, 413, 422) },
});
