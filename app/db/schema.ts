import type { ColumnType, Generated, Insertable, Selectable, Updateable } from "kysely";

/** The typed shape of the database, matching the frozen migrations in ./migrations. */
export interface Database {
  users: UsersTable;
  todos: TodosTable;
  refresh_tokens: RefreshTokensTable;
  rate_limit_buckets: RateLimitBucketsTable;
  todo_tombstones: TodoTombstonesTable;
  idempotency_keys: IdempotencyKeysTable;
  account_tokens: AccountTokensTable;
  audit_log: AuditLogTable;
  attachments: AttachmentsTable;
  object_deletions: ObjectDeletionsTable;
}

type CreatedAt = ColumnType<Date, never, never>;

export interface UsersTable {
  id: Generated<number>;
  username: string;
  email: string;
  full_name: string | null;
  password_hash: string;
  /** The last change number taken by this user's todos (migration 0002; kept by a trigger). */
  change_seq: ColumnType<number, never, never>;
  /** How many todos the user has, and how many of them are completed (migration 0006; kept by the trigger). */
  todo_count: ColumnType<number, never, never>;
  completed_count: ColumnType<number, never, never>;
  /** Migration 0003; a trigger resets it when the email changes. */
  email_verified: ColumnType<boolean, never, boolean>;
  created_at: ColumnType<Date, never, never>;
  updated_at: ColumnType<Date, never, Date>;
  /** Migration 0004: `user` or `admin`. */
  role: ColumnType<"user" | "admin", never, "user" | "admin">;
  /** Migration 0004: set while an administrator has disabled the account. */
  disabled_at: ColumnType<Date | null, never, Date | null>;
  /** Migration 0004: access tokens issued at or before it are refused. */
  sessions_revoked_at: ColumnType<Date | null, never, Date | null>;
  /** Migration 0004: the last password login. */
  last_login_at: ColumnType<Date | null, never, Date | null>;
  /** Migration 0007: bytes of the user's attachments, pending ones included (kept by a trigger). */
  storage_bytes: ColumnType<number, never, never>;
}

export interface TodosTable {
  id: Generated<number>;
  user_id: number;
  title: string;
  description: string | null;
  due_date: Date | null;
  completed: Generated<boolean>;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, never, Date>;
  /** 1 at creation, +1 on every real change (trigger, migration 0002). */
  version: ColumnType<number, never, never>;
  /** The owner's change number of this todo's latest change (trigger, migration 0002). */
  change_seq: ColumnType<number, never, never>;
}

export interface TodoTombstonesTable {
  user_id: number;
  change_seq: number;
  todo_id: number;
  version: number;
  deleted_at: ColumnType<Date, never, never>;
}

export interface IdempotencyKeysTable {
  user_id: number;
  key: string;
  /** sha256 of method, path and body: a repeat must be the same request. */
  request_hash: string;
  /** Who holds the key while the first request runs. */
  claim: string;
  locked_until: Date;
  response_status: number | null;
  response_headers: ColumnType<Record<string, string> | null, string | null, string | null>;
  response_body: string | null;
  created_at: CreatedAt;
}

export interface RefreshTokensTable {
  id: Generated<number>;
  user_id: number;
  /** sha256 of the opaque token, hex. The token itself is never stored. */
  token_hash: string;
  /** Every token issued from one login shares a family; reuse of a retired token revokes the family. */
  family_id: string;
  expires_at: Date;
  created_at: CreatedAt;
  used_at: Date | null;
  revoked_at: Date | null;
}

export interface RateLimitBucketsTable {
  key: string;
  window_start: Date;
  hits: number;
}

export interface AccountTokensTable {
  id: Generated<number>;
  user_id: number;
  purpose: "password_reset" | "email_verification";
  /** sha256 of the token, hex. The token itself is only ever in the mail. */
  token_hash: string;
  /** The address the token was mailed to. */
  email: string;
  expires_at: Date;
  used_at: Date | null;
  created_at: CreatedAt;
}

export interface AuditLogTable {
  id: Generated<number>;
  actor_id: number | null;
  actor_username: string | null;
  /** Dotted, e.g. `user.disable`. */
  action: string;
  target_id: number | null;
  target_username: string | null;
  details: ColumnType<Record<string, unknown> | null, string | null, never>;
  client_address: string;
  at: CreatedAt;
}

/** Migration 0007: a file on a todo. The trigger keeps `users.storage_bytes` and queues deletions. */
export interface AttachmentsTable {
  id: string;
  todo_id: number;
  user_id: number;
  /** Random, never derived from the filename. */
  object_key: string;
  filename: string;
  content_type: string;
  size: ColumnType<number, number, never>;
  status: ColumnType<"pending" | "ready", "pending" | "ready" | undefined, "pending" | "ready">;
  created_at: CreatedAt;
}

/** Migration 0007: objects to remove from the object store; a row goes once the store confirmed. */
export interface ObjectDeletionsTable {
  object_key: string;
  attempts: ColumnType<number, never, number>;
  next_attempt_at: ColumnType<Date, never, Date>;
  /** The attachment's upload URL may be used until then: the janitor deletes once more after it. */
  upload_expires_at: ColumnType<Date, never, never>;
  last_error: ColumnType<string | null, never, string | null>;
  created_at: CreatedAt;
}

export type UserRow = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type UserUpdate = Updateable<UsersTable>;
export type TodoRow = Selectable<TodosTable>;
export type RefreshTokenRow = Selectable<RefreshTokensTable>;
