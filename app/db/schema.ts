import type { ColumnType, Generated, Insertable, Selectable, Updateable } from "kysely";

/** The typed shape of the database, matching the frozen migrations in ./migrations. */
export interface Database {
  users: UsersTable;
  todos: TodosTable;
  refresh_tokens: RefreshTokensTable;
  rate_limit_buckets: RateLimitBucketsTable;
}

type CreatedAt = ColumnType<Date, never, never>;

export interface UsersTable {
  id: Generated<number>;
  username: string;
  email: string;
  full_name: string | null;
  password_hash: string;
  created_at: ColumnType<Date, never, never>;
  updated_at: ColumnType<Date, never, Date>;
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

export type UserRow = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type UserUpdate = Updateable<UsersTable>;
export type TodoRow = Selectable<TodosTable>;
export type RefreshTokenRow = Selectable<RefreshTokensTable>;
