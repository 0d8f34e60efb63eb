/**
 * What the API shows of an attachment and of a presigned request, and the SQL that reads an
 * attachment in that shape (one row, or a todo's ready attachments as a JSON array).
 */
import { sql } from "kysely";
import type { PresignedRequest } from "../files/object-store.js";

export interface AttachmentView {
  id: string;
  todo_id: number;
  filename: string;
  content_type: string;
  size: number;
  status: "pending" | "ready";
  created_at: string;
}

export interface PresignedView {
  method: "PUT" | "GET";
  url: string;
  headers: Record<string, string>;
  expires_at: string;
}

export const ATTACHMENT_VIEW = [
  "id",
  "todo_id",
  "filename",
  "content_type",
  "size",
  "status",
  sql<string>`to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`.as("created_at"),
] as const;

/**
 * A todo's ready attachments as one JSON array, for every query that returns todos (TODO_VIEW and
 * the sync feed): the same shape as `AttachmentView`, oldest first.
 */
export const READY_ATTACHMENTS_JSON = sql<AttachmentView[]>`coalesce((
  select json_agg(json_build_object(
           'id', a.id, 'todo_id', a.todo_id, 'filename', a.filename, 'content_type', a.content_type,
           'size', a.size, 'status', a.status,
           'created_at', to_char(a.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
         order by a.created_at, a.id)
    from attachments a where a.todo_id = todos.id and a.status = 'ready'), '[]'::json)`;

export function attachmentView(row: AttachmentView & { object_key?: string }): AttachmentView {
  const { object_key: _key, ...rest } = row;
  return rest;
}

export function presignedView(request: PresignedRequest): PresignedView {
  return {
    method: request.method,
    url: request.url,
    headers: request.headers,
    expires_at: request.expiresAt.toISOString(),
  };
}
