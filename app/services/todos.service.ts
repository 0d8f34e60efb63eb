import { type AliasedRawBuilder, type Kysely, type RawBuilder, sql } from "kysely";
import type { Database } from "../db/schema.js";
import { isForeignKeyViolation } from "../db/errors.js";
import { notFound, preconditionFailed, unauthorized } from "../errors.js";
import { READY_ATTACHMENTS_JSON } from "./attachment-views.js";
import type { TodoView } from "./presenters.js";

export type TodoSort = "created_at" | "-created_at" | "due_date" | "-due_date";

export interface NewTodo {
  title: string;
  description?: string | null | undefined;
  due_date?: string | null | undefined;
  completed?: boolean | undefined;
}

export interface TodoChanges {
  title?: string | undefined;
  description?: string | null | undefined;
  due_date?: string | null | undefined;
  completed?: boolean | undefined;
}

/**
 * What an `If-Match` header asks for: `"any"` (`*`), or the versions it names (empty when it names
 * none that can match, e.g. `"stale"`). Undefined: no precondition, last write wins.
 */
export type VersionMatch = "any" | number[];

export interface ListQuery {
  limit: number;
  offset: number;
  completed?: boolean | undefined;
  sort: TodoSort;
}

export interface TodoPage {
  items: TodoView[];
  total: number;
  limit: number;
  offset: number;
}

/**
 * A todo exactly as clients see it, times already as RFC 3339 UTC strings with milliseconds
 * (`2026-11-28T06:00:00.000Z`). PostgreSQL formats them: reading 60 timestamps of a page into
 * Dates only to print them again was the largest allocation of the list route (measured, see
 * docs/app.md). Every todo query returns this same selection, so all routes print times alike.
 */
export const rfc3339 = <C extends "due_date" | "created_at" | "updated_at">(column: C) =>
  sql<
    C extends "due_date" ? string | null : string
  >`to_char(${sql.ref(column)} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`.as(column);
export const TODO_VIEW = [
  "id",
  "title",
  "description",
  rfc3339("due_date"),
  "completed",
  rfc3339("created_at"),
  rfc3339("updated_at"),
  "version",
  READY_ATTACHMENTS_JSON.as("attachments"),
] as const;

/**
 * `updated_at` must visibly change on every change, even two changes within one millisecond
 * (clients see millisecond precision), so it moves forward by at least 1 ms.
 */
const BUMPED_UPDATED_AT = sql<Date>`greatest(now(), updated_at + interval '1 millisecond')`;

/**
 * Every query is scoped by `user_id`, so another user's todo is simply "not found". A deleted
 * account's token must stop working at once: when a lookup finds nothing we check (only on that
 * slow path) whether the account still exists, and answer 401 instead of 404 if it does not.
 */
export class TodosService {
  constructor(private readonly db: Kysely<Database>) {}

  async create(userId: number, input: NewTodo): Promise<TodoView> {
    try {
      const row = await this.db
        .insertInto("todos")
        .values({
          user_id: userId,
          title: input.title,
          description: input.description ?? null,
          due_date: input.due_date ? new Date(input.due_date) : null,
          completed: input.completed ?? false,
        })
        .returning(TODO_VIEW)
        .executeTakeFirstOrThrow();
      return row;
    } catch (err) {
      // The owner row is gone: the account was deleted while this token was still alive.
      if (isForeignKeyViolation(err)) throw unauthorized();
      throw err;
    }
  }

  /**
   * One query for a non-empty page: the rows, and the total from the owner's counters (kept by the
   * trigger that numbers every change) read in the same snapshot. A page costs what its rows cost,
   * whatever the account's size: a window count read every todo of the account for every page.
   */
  async list(userId: number, query: ListQuery): Promise<TodoPage> {
    const rows = await pageQuery(this.db, userId, query).execute();
    if (rows.length > 0) {
      return {
        items: rows.map(({ total: _total, ...todo }) => todo),
        total: rows[0]!.total ?? 0,
        limit: query.limit,
        offset: query.offset,
      };
    }
    // Empty page: past the end, no todos at all, or no such account. The owner row tells which.
    const owner = await this.db
      .selectFrom("users")
      .select(totalOf(query.completed))
      .where("id", "=", userId)
      .executeTakeFirst();
    if (!owner) throw unauthorized();
    return { items: [], total: owner.total, limit: query.limit, offset: query.offset };
  }

  async get(userId: number, todoId: number): Promise<TodoView> {
    const row = await this.db
      .selectFrom("todos")
      .select(TODO_VIEW)
      .where("id", "=", todoId)
      .where("user_id", "=", userId)
      .executeTakeFirst();
    if (!row) return this.missing(userId);
    return row;
  }

  async update(userId: number, todoId: number, changes: TodoChanges, match?: VersionMatch): Promise<TodoView> {
    const set: Record<string, unknown> = {};
    if (changes.title !== undefined) set.title = changes.title;
    if (changes.description !== undefined) set.description = changes.description;
    if (changes.due_date !== undefined) set.due_date = changes.due_date === null ? null : new Date(changes.due_date);
    if (changes.completed !== undefined) set.completed = changes.completed;
    const fields = Object.keys(set);
    if (fields.length === 0) {
      const current = await this.get(userId, todoId);
      if (!matches(match, current.version)) throw preconditionFailed();
      return current;
    }
    // Bump updated_at only when a value really differs (SET sees the old row on the right-hand side).
    // The version and the change number are the trigger's (migration 0002): +1 on a real change only.
    const changed: RawBuilder<boolean> = sql<boolean>`(${sql.join(
      fields.map((f) => sql`${sql.ref(f)} is distinct from ${set[f]}${f === "due_date" ? sql`::timestamptz` : sql``}`),
      sql` or `,
    )})`;
    const row = await this.db
      .updateTable("todos")
      .set({ ...set, updated_at: sql<Date>`case when ${changed} then ${BUMPED_UPDATED_AT} else updated_at end` })
      .where("id", "=", todoId)
      .where("user_id", "=", userId)
      .where(versionCondition(match))
      .returning(TODO_VIEW)
      .executeTakeFirst();
    if (!row) return this.missingOrStale(userId, todoId, match);
    return row;
  }

  setCompleted(userId: number, todoId: number, completed: boolean, match?: VersionMatch): Promise<TodoView> {
    return this.update(userId, todoId, { completed }, match);
  }

  async delete(userId: number, todoId: number, match?: VersionMatch): Promise<void> {
    const result = await this.db
      .deleteFrom("todos")
      .where("id", "=", todoId)
      .where("user_id", "=", userId)
      .where(versionCondition(match))
      .executeTakeFirst();
    if (result.numDeletedRows === 0n) await this.missingOrStale(userId, todoId, match);
  }

  /** Slow path of a conditional write that changed nothing: 412 if the todo is there, else 404/401. */
  private async missingOrStale(userId: number, todoId: number, match: VersionMatch | undefined): Promise<never> {
    if (match !== undefined) {
      const row = await this.db
        .selectFrom("todos")
        .select("id")
        .where("id", "=", todoId)
        .where("user_id", "=", userId)
        .executeTakeFirst();
      if (row) throw preconditionFailed();
    }
    return this.missing(userId);
  }

  private async missing(userId: number): Promise<never> {
    const owner = await this.db.selectFrom("users").select("id").where("id", "=", userId).executeTakeFirst();
    throw owner ? notFound("No such todo.") : unauthorized();
  }
}

function matches(match: VersionMatch | undefined, version: number): boolean {
  return match === undefined || match === "any" || match.includes(version);
}

function versionCondition(match: VersionMatch | undefined): RawBuilder<boolean> {
  if (match === undefined || match === "any") return sql<boolean>`true`;
  if (match.length === 0) return sql<boolean>`false`;
  return sql<boolean>`version in (${sql.join(match)})`;
}

/** The list route's query: one page of the account's todos, each row carrying the exact total. */
export function pageQuery(db: Kysely<Database>, userId: number, query: ListQuery) {
  let q = db
    .selectFrom("todos")
    .select([
      ...TODO_VIEW,
      (eb) => eb.selectFrom("users").select(totalOf(query.completed)).where("id", "=", userId).as("total"),
    ])
    .where("user_id", "=", userId);
  if (query.completed !== undefined) q = q.where("completed", "=", query.completed);
  return applySort(q, query.sort).limit(query.limit).offset(query.offset);
}

/** The page's `total` from the owner row's counters: all todos, the completed ones, or the open ones. */
function totalOf(completed: boolean | undefined): AliasedRawBuilder<number, "total"> {
  if (completed === undefined) return sql<number>`todo_count::int`.as("total");
  return (completed ? sql<number>`completed_count::int` : sql<number>`(todo_count - completed_count)::int`).as("total");
}

// biome-ignore lint/suspicious/noExplicitAny: Kysely's orderBy overloads have no common parameter type
function applySort<Q extends { orderBy: (...args: any[]) => Q }>(q: Q, sort: TodoSort): Q {
  // Table-qualified: a bare `created_at` or `due_date` in ORDER BY names the output column, which is
  // the formatted text (TODO_VIEW), and sorting by it cannot use the index, so every page sorted
  // all of the account's todos.
  switch (sort) {
    case "created_at":
      return q.orderBy("todos.created_at", "asc").orderBy("todos.id", "asc");
    case "-created_at":
      return q.orderBy("todos.created_at", "desc").orderBy("todos.id", "desc");
    case "due_date":
      return q.orderBy(sql`todos.due_date asc nulls last`).orderBy("todos.id", "asc");
    case "-due_date":
      return q.orderBy(sql`todos.due_date desc nulls last`).orderBy("todos.id", "desc");
  }
}
