import { createRoute } from "@hono/zod-openapi";
import { requireAdmin, requireAuth } from "../../http/require-auth.js";
import { bearerSecurity, errorResponses, json } from "../../http/schemas.js";
import {
  AdminStats,
  AdminUser,
  AdminUserList,
  AdminUsersQuery,
  AuditPage,
  AuditQuery,
  RoleRequest,
  UserIdParams,
} from "./admin.schemas.js";

const common = {
  tags: ["Administration"],
  security: bearerSecurity,
  middleware: [requireAuth, requireAdmin],
};
const ADMIN_ONLY =
  "Administrators only (the role is read from the database on every request): 403 `forbidden` for anyone else.";

export const listUsers = createRoute({
  ...common,
  method: "get",
  path: "/api/v1/admin/users",
  operationId: "adminListUsers",
  summary: "List and search accounts (newest first)",
  description: ADMIN_ONLY,
  request: { query: AdminUsersQuery },
  responses: { 200: json(AdminUserList, "A page of accounts"), ...errorResponses(400, 401, 403, 422) },
});

export const getUser = createRoute({
  ...common,
  method: "get",
  path: "/api/v1/admin/users/{id}",
  operationId: "adminGetUser",
  summary: "One account",
  description: ADMIN_ONLY,
  request: { params: UserIdParams },
  responses: { 200: json(AdminUser, "The account"), ...errorResponses(401, 403, 404) },
});

const action = (path: string, operationId: string, summary: string, description: string) =>
  createRoute({
    ...common,
    method: "post",
    path,
    operationId,
    summary,
    description: `${description} ${ADMIN_ONLY} Recorded in the audit log.`,
    request: { params: UserIdParams },
    responses: { 200: json(AdminUser, "The account"), ...errorResponses(401, 403, 404, 409) },
  });

export const disableUser = action(
  "/api/v1/admin/users/{id}/disable",
  "adminDisableUser",
  "Disable an account",
  "Its tokens stop working at once, its sessions are revoked, and signing in is 403 `account_disabled`. " +
    "409 if it is the last enabled administrator.",
);
export const enableUser = action(
  "/api/v1/admin/users/{id}/enable",
  "adminEnableUser",
  "Enable a disabled account",
  "The user signs in again (sessions revoked on disable stay revoked).",
);

export const revokeSessions = createRoute({
  ...common,
  method: "post",
  path: "/api/v1/admin/users/{id}/revoke-sessions",
  operationId: "adminRevokeSessions",
  summary: "Sign an account out everywhere",
  description: `Every refresh token is revoked and every access token issued until now refused. ${ADMIN_ONLY} Recorded in the audit log.`,
  request: { params: UserIdParams },
  responses: { 204: { description: "Signed out" }, ...errorResponses(401, 403, 404) },
});

export const setRole = createRoute({
  ...common,
  method: "post",
  path: "/api/v1/admin/users/{id}/role",
  operationId: "adminSetRole",
  summary: "Make an account an administrator, or a user again",
  description: `409 if that would leave no enabled administrator. ${ADMIN_ONLY} Recorded in the audit log.`,
  request: { params: UserIdParams, body: { required: true, content: { "application/json": { schema: RoleRequest } } } },
  responses: { 200: json(AdminUser, "The account"), ...errorResponses(400, 401, 403, 404, 409, 413, 422) },
});

export const deleteUser = createRoute({
  ...common,
  method: "delete",
  path: "/api/v1/admin/users/{id}",
  operationId: "adminDeleteUser",
  summary: "Delete an account with its todos and tokens",
  description: `409 if it is the last enabled administrator. ${ADMIN_ONLY} Recorded in the audit log.`,
  request: { params: UserIdParams },
  responses: { 204: { description: "Deleted" }, ...errorResponses(401, 403, 404, 409) },
});

export const stats = createRoute({
  ...common,
  method: "get",
  path: "/api/v1/admin/stats",
  operationId: "adminStats",
  summary: "Counts: accounts, active accounts, todos, sign-ups per day, storage",
  description: ADMIN_ONLY,
  responses: { 200: json(AdminStats, "The figures"), ...errorResponses(401, 403) },
});

export const audit = createRoute({
  ...common,
  method: "get",
  path: "/api/v1/admin/audit",
  operationId: "adminAuditLog",
  summary: "The audit log of administrative actions (newest first)",
  description: ADMIN_ONLY,
  request: { query: AuditQuery },
  responses: { 200: json(AuditPage, "A page of the log"), ...errorResponses(400, 401, 403, 422) },
});
