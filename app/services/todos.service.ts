import { sql, type Kysely, type RawBuilder } from "kysely";
import type { Database } from "../db/schema.js";
import { isForeignKeyViolation } from "../db/errors.js";
import { notFound, unauthorized } from "../errors.js";
import { presentTodo, type TodoView } from "./presenters.js";

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

const COLUMNS = ["id", "title", "description", "due_date", "completed", "created_at", "updated_at"] as const;

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
        .returning(COLUMNS)
        .executeTakeFirstOrThrow();
      return presentTodo(row);
    } catch (err) {
      // The owner row is gone: the account was deleted while this token was still alive.
      if (isForeignKeyViolation(err)) throw unauthorized();
      throw err;
    }
  }

  /** One query for a non-empty page: the rows and the total (window count) together. */
  async list(userId: number, query: ListQuery): Promise<TodoPage> {
    let q = this.db
      .selectFrom("todos")
      .select([...COLUMNS, sql<number>`count(*) over ()`.as("total")])
      .where("user_id", "=", userId);
    if (query.completed !== undefined) q = q.where("completed", "=", query.completed);
    q = applySort(q, query.sort).limit(query.limit).offset(query.offset);
    const rows = await q.execute();
    if (rows.length > 0) {
      return { items: rows.map(presentTodo), total: rows[0]!.total, limit: query.limit, offset: query.offset };
    }
    // Empty page: past the end, no todos at all, or no such account. One more query tells which.
    const completedFilter = query.completed === undefined ? sql`` : sql` and completed = ${query.completed}`;
    const { rows: facts } = await sql<{ total: number; owner_exists: boolean }>`
      select (select count(*) from todos where user_id = ${userId}${completedFilter}) as total,
             exists (select 1 from users where id = ${userId}) as owner_exists`.execute(this.db);
    const fact = facts[0];
    if (!fact?.owner_exists) throw unauthorized();
    return { items: [], total: fact.total, limit: query.limit, offset: query.offset };
  }

  async get(userId: number, todoId: number): Promise<TodoView> {
    const row = await this.db
      .selectFrom("todos")
      .select(COLUMNS)
      .where("id", "=", todoId)
      .where("user_id", "=", userId)
      .executeTakeFirst();
    if (!row) return this.missing(userId);
    return presentTodo(row);
  }

  async update(userId: number, todoId: number, changes: TodoChanges): Promise<TodoView> {
    const set: Record<string, unknown> = {};
    if (changes.title !== undefined) set.title = changes.title;
    if (changes.description !== undefined) set.description = changes.description;
    if (changes.due_date !== undefined) set.due_date = changes.due_date === null ? null : new Date(changes.due_date);
    if (changes.completed !== undefined) set.completed = changes.completed;
    const fields = Object.keys(set);
    if (fields.length === 0) return this.get(userId, todoId);
    // Bump updated_at only when a value really differs (SET sees the old row on the right-hand side).
    const changed: RawBuilder<boolean> = sql<boolean>`(${sql.join(
      fields.map((f) => sql`${sql.ref(f)} is distinct from ${set[f]}${f === "due_date" ? sql`::timestamptz` : sql``}`),
      sql` or `,
    )})`;
    const row = await this.db
      .updateTable("todos")
      .set({ ...set, updated_at: sql<Date>`case when ${changed} then ${BUMPED_UPDATED_AT} else updated_at end` })
      .where("id", "=", todoId)
      .where("user_id", "=", userId)
      .returning(COLUMNS)
      .executeTakeFirst();
    if (!row) return this.missing(userId);
    return presentTodo(row);
  }

  setCompleted(userId: number, todoId: number, completed: boolean): Promise<TodoView> {
    return this.update(userId, todoId, { completed });
  }

  async delete(userId: number, todoId: number): Promise<void> {
    const result = await this.db.deleteFrom("todos").where("id", "=", todoId).where("user_id", "=", userId).executeTakeFirst();
    if (result.numDeletedRows === 0n) await this.missing(userId);
  }

  private async missing(userId: number): Promise<never> {
    const owner = await this.db.selectFrom("users").select("id").where("id", "=", userId).executeTakeFirst();
    throw owner ? notFound("No such todo.") : unauthorized();
  }
}

function applySort<Q extends { orderBy: (...args: any[]) => Q }>(q: Q, sort: TodoSort): Q {
  switch (sort) {
    case "created_at":
      return q.orderBy("created_at", "asc").orderBy("id", "asc");
    case "-created_at":
      return q.orderBy("created_at", "desc").orderBy("id", "desc");
    case "due_date":
      return q.orderBy(sql`due_date asc nulls last`).orderBy("id", "asc");
    case "-due_date":
      return q.orderBy(sql`due_date desc nulls last`).orderBy("id", "desc");
  }
}
