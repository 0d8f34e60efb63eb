import type { Kysely } from "kysely";
import type { Database } from "../db/schema.js";
import { idempotencyKeyReused, stillProcessing } from "../errors.js";
import type { IdempotencyStore } from "./idempotency-store.js";
import type { TodoView } from "./presenters.js";
import { type NewTodo, type TodoChanges, TodosService, type VersionMatch } from "./todos.service.js";

/** One validated operation of `POST /api/v1/todos/batch`, its target already resolved to an id. */
export type BatchAction =
  | { op: "create"; input: NewTodo }
  | { op: "update"; id: number; changes: TodoChanges; match: VersionMatch | undefined }
  | { op: "delete" | "complete" | "reopen"; id: number; match: VersionMatch | undefined };

/** A successful operation's outcome: the single route's status and todo (none for a delete). */
export interface AppliedOperation {
  status: 200 | 201 | 204;
  todo?: TodoView;
  /** True when this is the stored outcome of an earlier operation with the same idempotency key. */
  replayed?: true;
}

/**
 * Applies batch operations one at a time, each through the single routes' own service
 * (TodosService: the same statements, rules, 404s and 412s) and, with an idempotency key, through
 * the same key store as the `Idempotency-Key` header: the change and the stored outcome commit in
 * one transaction of their own. An operation that fails throws its AppError and changes nothing;
 * the ones before it stay committed.
 */
export class BatchService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly todos: TodosService,
    private readonly idempotency: IdempotencyStore,
  ) {}

  async apply(
    userId: number,
    action: BatchAction,
    key?: { key: string; requestHash: string },
  ): Promise<AppliedOperation> {
    if (key === undefined) return perform(this.todos, userId, action);
    const outcome = await this.idempotency.claim(userId, key.key, key.requestHash);
    if (outcome.kind === "reused") throw idempotencyKeyReused();
    if (outcome.kind === "in_flight") throw stillProcessing();
    if (outcome.kind === "replay") {
      const stored = JSON.parse(outcome.response.body) as AppliedOperation;
      return { ...stored, replayed: true };
    }
    return this.idempotency.runClaimed(this.db, userId, key.key, outcome.claim, async (trx) => {
      const applied = await perform(new TodosService(trx), userId, action);
      return { value: applied, response: { status: applied.status, headers: {}, body: JSON.stringify(applied) } };
    });
  }
}

async function perform(todos: TodosService, userId: number, action: BatchAction): Promise<AppliedOperation> {
  switch (action.op) {
    case "create":
      return { status: 201, todo: await todos.create(userId, action.input) };
    case "update":
      return { status: 200, todo: await todos.update(userId, action.id, action.changes, action.match) };
    case "delete":
      await todos.delete(userId, action.id, action.match);
      return { status: 204 };
    case "complete":
    case "reopen":
      return { status: 200, todo: await todos.setCompleted(userId, action.id, action.op === "complete", action.match) };
  }
}
