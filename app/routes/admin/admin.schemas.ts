import { z } from "@hono/zod-openapi";
import { Id, Timestamp } from "../../http/schemas.js";
import { TodoIdParams } from "../todos/todos.schemas.js";
import { User } from "../users/users.schemas.js";

export const RoleName = User.shape.role;

export const AdminUser = User.extend({
  role: RoleName,
  disabled: z.boolean().openapi({ description: "A disabled account cannot sign in and its tokens are refused" }),
  last_login_at: Timestamp.nullable().openapi({ description: "The last password sign-in" }),
  todo_count: z.number().int(),
  storage_bytes: z.number().int().openapi({ description: "Bytes of stored files" }),
}).openapi("AdminUser");

export const AdminUserList = z
  .object({ items: z.array(AdminUser), total: z.number().int(), limit: z.number().int(), offset: z.number().int() })
  .openapi("AdminUserList");

const intParam = (name: string, max: number, fallback: number, min = 0) =>
  z
    .string()
    .regex(/^\d{1,10}$/, { message: `must be a whole number from ${min} to ${max}` })
    .transform(Number)
    .pipe(
      z
        .number()
        .min(min, { message: `must be at least ${min}` })
        .max(max, { message: `must be at most ${max}` }),
    )
    .optional()
    .openapi({ param: { name, in: "query" }, type: "integer", minimum: min, maximum: max, default: fallback });

const Paging = {
  limit: intParam("limit", 100, 20, 1),
  offset: intParam("offset", 2_147_483_647, 0),
};

export const AdminUsersQuery = z.strictObject({
  q: z
    .string()
    .max(254, { message: "must be at most 254 characters" })
    .optional()
    .openapi({ param: { name: "q", in: "query" }, description: "Part of the username or e-mail (case-insensitive)" }),
  disabled: z
    .enum(["true", "false"], { message: 'must be "true" or "false"' })
    .transform((v) => v === "true")
    .optional()
    .openapi({ param: { name: "disabled", in: "query" }, type: "boolean" }),
  ...Paging,
});

export const AuditQuery = z.strictObject(Paging);

export const UserIdParams = TodoIdParams;

export const RoleRequest = z.strictObject({ role: RoleName }).openapi("RoleRequest");

export const AuditEntry = z
  .object({
    id: Id,
    actor_id: Id.nullable().openapi({ description: "The administrator; null for the server's admin command" }),
    actor_username: z.string().nullable(),
    action: z.string().openapi({
      example: "user.disable",
      description: "user.disable, user.enable, user.delete, user.revoke_sessions, user.role, …",
    }),
    target_id: Id.nullable(),
    target_username: z.string().nullable().openapi({ description: "The target's username at the time" }),
    details: z.record(z.string(), z.unknown()).nullable(),
    at: Timestamp,
    client_address: z
      .string()
      .openapi({ description: "Where the action came from (`cli`: the server's admin command)" }),
  })
  .openapi("AuditEntry");

export const AuditPage = z
  .object({ items: z.array(AuditEntry), total: z.number().int(), limit: z.number().int(), offset: z.number().int() })
  .openapi("AuditPage");

export const AdminStats = z
  .object({
    users: z.number().int(),
    active_users_7d: z
      .number()
      .int()
      .openapi({ description: "Accounts that signed in or refreshed a session in 7 days" }),
    todos: z.number().int(),
    signups_per_day: z
      .array(z.object({ day: z.iso.date(), count: z.number().int() }).openapi("SignupDay"))
      .openapi({ description: "The last 30 days (UTC), oldest first, days without sign-ups included" }),
    storage_bytes: z.number().int(),
  })
  .openapi("AdminStats");
