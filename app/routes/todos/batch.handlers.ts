import type { z } from "@hono/zod-openapi";
import { AppError, type ErrorDetail, validationFailed } from "../../errors.js";
import { parseIfMatch } from "../../http/conditional.js";
import type { AppRouteHandler } from "../../http/create-router.js";
import { issuesToDetails, nulFields } from "../../http/validation.js";
import type { BatchAction } from "../../services/batch.service.js";
import { requestHash, VALID_IDEMPOTENCY_KEY } from "../../services/idempotency-store.js";
import type { BatchOperation, BatchResult } from "./batch.schemas.js";
import type * as routes from "./batch.routes.js";
import { CreateTodoRequest, UpdateTodoRequest } from "./todos.schemas.js";

type Operation = z.infer<typeof BatchOperation>;
type Result = z.infer<typeof BatchResult>;

const MAX_REF_LENGTH = 100;

/** What the batch knows about `ref` names so far: created todos, and creates that failed. */
interface Refs {
  created: Map<string, number>;
  failed: Set<string>;
}

/**
 * Operations run one after another, in order (a later one may need an earlier one's todo). A
 * failed operation is a result, not an error of the request; only a request-level problem (the
 * account is gone → 401, the database is unreachable → 503) stops the batch, and the operations
 * before it stay applied: resent with their idempotency keys, they are not applied twice.
 */
export const batch: AppRouteHandler<typeof routes.batch> = async (c) => {
  // A client that sends the header expects the whole batch to be safe to resend; silently
  // ignoring it could apply a resent batch twice. The keys belong on the operations.
  if (c.req.header("idempotency-key") !== undefined)
    throw validationFailed([
      { path: "Idempotency-Key", message: "is not used on a batch: give each operation an idempotency_key" },
    ]);
  const { operations } = c.req.valid("json");
  const { services, userId } = c.var;
  const refs: Refs = { created: new Map(), failed: new Set() };
  const results: Result[] = [];
  for (const operation of operations) {
    try {
      const action = toAction(operation, refs);
      const key = idempotencyKey(operation);
      const applied = await services.batch.apply(userId, action, key);
      if (operation.op === "create" && operation.ref !== undefined && applied.todo)
        refs.created.set(operation.ref, applied.todo.id);
      results.push(applied);
    } catch (err) {
      if (!(err instanceof AppError) || err.code === "unauthorized") throw err;
      if (operation.op === "create" && operation.ref !== undefined && !refs.created.has(operation.ref))
        refs.failed.add(operation.ref);
      results.push({ status: err.status, error: err.toBody().error });
    }
  }
  services.cleanup.maybeRun(c.var.logger);
  return c.json({ results }, 200);
};

/** The single route's input rules for one operation, as a validated action; 422 (AppError) otherwise. */
function toAction(operation: Operation, refs: Refs): BatchAction {
  const problems: ErrorDetail[] = [];
  const match = parseIfMatch(operation.if_match);
  if (operation.op === "create") {
    if (operation.id !== undefined) problems.push({ path: "id", message: "is not allowed for create" });
    if (operation.if_match !== undefined) problems.push({ path: "if_match", message: "is not allowed for create" });
    if (operation.ref !== undefined) {
      if (operation.ref.length < 1 || operation.ref.length > MAX_REF_LENGTH)
        problems.push({ path: "ref", message: `must be 1–${MAX_REF_LENGTH} characters` });
      else if (refs.created.has(operation.ref) || refs.failed.has(operation.ref))
        problems.push({ path: "ref", message: "is already used by an earlier operation of this batch" });
    }
    keyProblems(operation, problems);
    const input = parsed(CreateTodoRequest, operation.body, problems);
    if (problems.length > 0 || input === undefined) throw validationFailed(problems);
    return { op: "create", input };
  }
  const id = target(operation, refs, problems);
  keyProblems(operation, problems);
  if (operation.op === "update") {
    const changes = parsed(UpdateTodoRequest, operation.body, problems);
    if (problems.length > 0 || changes === undefined || id === undefined) throw validationFailed(problems);
    return { op: "update", id, changes, match };
  }
  if (operation.body !== undefined) problems.push({ path: "body", message: `is not allowed for ${operation.op}` });
  if (problems.length > 0 || id === undefined) throw validationFailed(problems);
  return { op: operation.op, id, match };
}

/** The todo an operation names: `id`, or `ref` of a todo created earlier in this batch. */
function target(operation: Operation, refs: Refs, problems: ErrorDetail[]): number | undefined {
  if (operation.id !== undefined && operation.ref !== undefined) {
    problems.push({ path: "ref", message: "give either id or ref, not both" });
    return undefined;
  }
  if (operation.id !== undefined) return operation.id;
  if (operation.ref === undefined) {
    problems.push({ path: "id", message: "is required (or ref, naming a todo created earlier in this batch)" });
    return undefined;
  }
  const id = refs.created.get(operation.ref);
  if (id === undefined)
    problems.push({
      path: "ref",
      message: refs.failed.has(operation.ref)
        ? "names a todo whose create failed earlier in this batch"
        : "names no todo created earlier in this batch",
    });
  return id;
}

function keyProblems(operation: Operation, problems: ErrorDetail[]): void {
  const key = operation.idempotency_key;
  if (key !== undefined && !VALID_IDEMPOTENCY_KEY.test(key))
    problems.push({ path: "idempotency_key", message: "must be 1–255 printable ASCII characters" });
}

/**
 * The key and what "the same operation" means for it: the operation as sent (its `ref`, not the
 * id it resolved to, so a resent batch hashes alike), with its fields in a fixed order.
 */
function idempotencyKey(operation: Operation): { key: string; requestHash: string } | undefined {
  const { idempotency_key: key, ...rest } = operation;
  if (key === undefined) return undefined;
  return { key, requestHash: requestHash("BATCH", `/api/v1/todos/batch#${operation.op}`, canonical(rest)) };
}

function canonical(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
}

/** A body checked as the single route checks it (validation.ts): its failures join `problems`. */
function parsed<S extends z.ZodType>(schema: S, body: unknown, problems: ErrorDetail[]): z.output<S> | undefined {
  if (body === undefined) {
    problems.push({ path: "body", message: "is required" });
    return undefined;
  }
  const result = schema.safeParse(body);
  const nul = nulFields(body);
  if (result.success) {
    problems.push(...nul);
    return result.data;
  }
  const details = issuesToDetails(result.error);
  for (const d of nul) if (!details.some((e) => e.path === d.path)) details.push(d);
  problems.push(...details);
  return undefined;
}
