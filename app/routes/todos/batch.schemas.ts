import { z } from "@hono/zod-openapi";
import { ErrorSchema, Id, variantNames } from "../../http/schemas.js";
import { Todo } from "./todos.schemas.js";

export const MAX_BATCH_OPERATIONS = 100;

/**
 * The fields of a todo as a batch operation carries them: types only. The value rules (title
 * 1–200 characters, due_date format, …) are the single routes' and are checked per operation,
 * so one bad operation is a 422 result of its own and does not refuse the whole batch.
 */
const BatchTodoFields = z
  .strictObject({
    title: z.string().optional(),
    description: z.string().nullable().optional(),
    due_date: z.string().nullable().optional(),
    completed: z.boolean().optional(),
  })
  .openapi("BatchTodoFields", {
    description:
      "For `create`: the body of `POST /api/v1/todos` (title required); for `update`: the body of " +
      "`PATCH /api/v1/todos/{id}`. `null` clears description or due_date. Value rules are checked per operation (422 result).",
  });

const BATCH_OPERATION_KINDS = ["create", "update", "delete", "complete", "reopen"] as const;

export const BatchOperation = z
  .strictObject({
    op: z.enum(BATCH_OPERATION_KINDS).openapi("BatchOperationKind", { ...variantNames(BATCH_OPERATION_KINDS) }),
    id: Id.min(1)
      .max(Number.MAX_SAFE_INTEGER)
      .optional()
      .openapi({ description: "The todo (not for create). Or `ref`." }),
    ref: z
      .string()
      .optional()
      .openapi({
        description:
          "On create: a name (1–100 characters) for the new todo, unique within the batch. On the other operations: " +
          "the name of a todo created earlier in this batch, instead of `id`.",
        example: "draft-1",
      }),
    if_match: z.string().optional().openapi({
      description: 'As the `If-Match` header of the single route, e.g. `"3"`: apply only at that version, else 412.',
      example: '"1"',
    }),
    body: BatchTodoFields.optional(),
    idempotency_key: z
      .string()
      .optional()
      .openapi({
        description:
          "As the single routes' `Idempotency-Key` (1–255 printable ASCII characters, per user, kept 24 hours, the same " +
          "store): a resent operation returns its first result with `replayed: true` and changes nothing.",
      }),
  })
  .openapi("BatchOperation");

export const BatchRequest = z
  .strictObject({
    operations: z
      .array(BatchOperation)
      .min(1, { message: "must hold at least 1 operation" })
      .max(MAX_BATCH_OPERATIONS, { message: `must hold at most ${MAX_BATCH_OPERATIONS} operations` }),
  })
  .openapi("BatchRequest");

export const BatchResult = z
  .object({
    status: z
      .number()
      .int()
      .openapi({ description: "The status the single route would answer (201, 200, 204, 404, 412, 422, …)" }),
    todo: Todo.optional(),
    error: ErrorSchema.shape.error.optional(),
    replayed: z.boolean().optional().openapi({ description: "`true`: the stored result of an earlier send" }),
  })
  .openapi("BatchResult");

export const BatchResponse = z.object({ results: z.array(BatchResult) }).openapi("BatchResponse");
