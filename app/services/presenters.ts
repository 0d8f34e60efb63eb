import type { TodoRow, UserRow } from "../db/schema.js";

/** What clients see: snake_case fields, RFC 3339 UTC times, never a password hash. */
export interface UserView {
  id: number;
  username: string;
  email: string;
  full_name: string | null;
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
}

export function presentUser(row: Pick<UserRow, "id" | "username" | "email" | "full_name" | "created_at">): UserView {
  return {
    id: row.id,
    username: row.username,
    email: row.email,
    full_name: row.full_name,
    created_at: row.created_at.toISOString(),
  };
}

export function presentTodo(row: Pick<TodoRow, "id" | "title" | "description" | "due_date" | "completed" | "created_at" | "updated_at">): TodoView {
  return {
    id: row.id,
    title: row.title,
    description: row.description,
    due_date: row.due_date ? row.due_date.toISOString() : null,
    completed: row.completed,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}
