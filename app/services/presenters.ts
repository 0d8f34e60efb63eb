import type { UserRow } from "../db/schema.js";
import type { AttachmentView } from "./attachment-views.js";

/**
 * What clients see: snake_case fields, RFC 3339 UTC times, never a password hash. Todos are
 * selected in this shape directly (todos.service.ts, TODO_VIEW).
 */
export interface UserView {
  id: number;
  username: string;
  email: string;
  full_name: string | null;
  email_verified: boolean;
  /** v1.2: `user` or `admin` (docs/admin.md). */
  role: "user" | "admin";
  created_at: string;
}

export interface TodoView {
  id: number;
  title: string;
  description: string | null;
  due_date: string | null;
  completed: boolean;
  created_at: string;
  updated_at: string;
  version: number;
  /** v1.2: the ready attachments, oldest first (v1 and v1.1 clients ignore the field). */
  attachments: AttachmentView[];
}

export function presentUser(
  row: Pick<UserRow, "id" | "username" | "email" | "full_name" | "created_at" | "email_verified" | "role">,
): UserView {
  return {
    id: row.id,
    username: row.username,
    email: row.email,
    full_name: row.full_name,
    email_verified: row.email_verified,
    role: row.role,
    created_at: row.created_at.toISOString(),
  };
}
