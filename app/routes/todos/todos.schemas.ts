import { z } from "@hono/zod-openapi";
import { CLEAR_DESCRIPTION, Id, says, Timestamp, variantNames } from "../../http/schemas.js";
import { MAX_CURSOR_LENGTH } from "../../services/sync-cursor.js";
import { Attachment } from "../attachments/attachments.schemas.js";

const Title = z
  .string()
  .trim()
  .min(1, { message: "must not be empty" })
  .max(200, { message: "must be at most 200 characters" })
  .openapi({
    example: "Buy milk",
    description: "1–200 characters after trimming (stored trimmed)",
    // Declares what trimming enforces (not only white space) and the rule for every request
    // string (no NUL, U+0000), in one pattern: a schema has room for one.
    pattern: "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$",
  });
const Description = z
  .string()
  .max(2000, { message: "must be at most 2000 characters" })
  .nullable()
  .openapi({ example: "2 litres" });
/** Years 1–9999 in UTC: PostgreSQL would store year 0 as 1 BC, and print years past 9999 in a form RFC 3339 has no room for. */
const inPrintableYears = (value: string) => {
  const year = new Date(value).getUTCFullYear();
  return Number.isNaN(year) || (year >= 1 && year <= 9999); // not a date at all: the format check says so
};
const DueDate = z.iso
  .datetime({ offset: true, ...says("must be an RFC 3339 date-time, e.g. 2026-11-28T06:00:00Z") })
  .refine(inPrintableYears, { message: "must lie in the years 0001–9999 (after conversion to UTC)" })
  .nullable()
  .openapi({ example: "2026-11-28T06:00:00.000Z", description: "RFC 3339 with any offset; years 0001–9999 in UTC" });

export const Todo = z
  .object({
    id: Id,
    title: z.string(),
    description: z.string().nullable(),
    due_date: Timestamp.nullable(),
    completed: z.boolean(),
    created_at: Timestamp,
    updated_at: Timestamp,
    version: z
      .number()
      .int()
      .min(1)
      .openapi({ description: "1 at creation, +1 on every change; the ETag is this number in quotes", example: 1 }),
    attachments: z.array(Attachment).openapi({
      description: "The ready attachments, oldest first (v1.2); adding or removing one is a change of the todo",
    }),
  })
  .openapi("Todo");

export const TodoList = z
  .object({ items: z.array(Todo), total: z.number().int(), limit: z.number().int(), offset: z.number().int() })
  .openapi("TodoList");

export const CreateTodoRequest = z
  .strictObject({
    title: Title,
    description: Description.optional(),
    due_date: DueDate.optional(),
    completed: z.boolean().optional(),
  })
  .openapi("CreateTodoRequest");

/** The nullable fields of a todo, by name: what `clear` in an update empties. */
export const TodoClearableField = z.enum(["description", "due_date"]).openapi("TodoClearableField", {
  description: "A nullable field of a todo that `clear` sets to null",
  ...variantNames(["description", "due_date"]),
});

export const UpdateTodoRequest = z
  .strictObject({
    title: Title.optional(),
    description: Description.optional(),
    due_date: DueDate.optional(),
    completed: z.boolean().optional(),
    clear: z
      .array(TodoClearableField)
      .max(2)
      .optional()
      .openapi({ description: CLEAR_DESCRIPTION, example: ["due_date"] }),
  })
  .openapi("UpdateTodoRequest");

/** Named, with variant names every generator can use as identifiers (`-created_at` is none). */
export const TodoSort = z
  .enum(["created_at", "-created_at", "due_date", "-due_date"], {
    message: "must be one of created_at, -created_at, due_date, -due_date",
  })
  .openapi("TodoSort", {
    description:
      "`created_at` oldest first, `-created_at` newest first (the default); `due_date`/`-due_date` likewise, todos without a due date last",
    "x-enum-varnames": ["CREATED_AT_ASCENDING", "CREATED_AT_DESCENDING", "DUE_DATE_ASCENDING", "DUE_DATE_DESCENDING"],
  });

const intParam = (message: string) => z.string().regex(/^\d+$/, { message }).transform(Number);

export const ListTodosQuery = z.strictObject({
  limit: intParam("must be a whole number from 1 to 100")
    .pipe(z.number().min(1, { message: "must be at least 1" }).max(100, { message: "must be at most 100" }))
    .optional()
    .openapi({ param: { name: "limit", in: "query" }, type: "integer", minimum: 1, maximum: 100, default: 20 }),
  offset: intParam("must be a whole number, 0 or more")
    .pipe(z.number().max(2_147_483_647, { message: "is too large" }))
    .optional()
    .openapi({
      param: { name: "offset", in: "query" },
      type: "integer",
      minimum: 0,
      maximum: 2_147_483_647,
      default: 0,
    }),
  completed: z
    .enum(["true", "false"], { message: 'must be "true" or "false"' })
    .transform((v) => v === "true")
    .optional()
    .openapi({ param: { name: "completed", in: "query" }, type: "boolean" }),
  // No `default` keyword: generators write it as an enum member name, and Kotlin's comes out wrong
  // (`MinusCreated_at`, which does not compile with the named variants). The description says it.
  sort: TodoSort.optional().openapi({ param: { name: "sort", in: "query" } }),
});

export const TodoIdParams = z.object({
  id: z
    .string()
    .regex(/^[1-9]\d{0,15}$/)
    .transform(Number)
    .openapi({
      param: { name: "id", in: "path" },
      type: "integer",
      format: "int64",
      minimum: 1,
      // Within the 16 digits the pattern allows, and exact as a JavaScript number.
      maximum: Number.MAX_SAFE_INTEGER,
      example: 1,
    }),
});

export const IfMatchHeaders = z.object({
  "If-Match": z
    .string()
    .optional()
    .openapi({
      param: { name: "If-Match", in: "header" },
      description:
        'Apply only if the todo is still at this version (its ETag, e.g. `"3"`); else 412 and nothing changes.',
      example: '"1"',
    }),
});

export const IdempotentHeaders = z.object({
  "Idempotency-Key": z
    .string()
    .optional()
    .openapi({
      param: { name: "Idempotency-Key", in: "header" },
      // Checked by the idempotency middleware (422 naming the header), declared here: no space
      // at either end (HTTP would strip it).
      minLength: 1,
      maxLength: 255,
      pattern: "^[\\x21-\\x7e]([\\x20-\\x7e]{0,253}[\\x21-\\x7e])?$",
      description:
        "1–255 printable ASCII characters, per user, kept 24 hours. The same request means the same method, path, body " +
        "and If-Match. A repeat of the same request returns the first response " +
        "with `Idempotent-Replayed: true`; the same key with another request is 422 `idempotency_key_reused`; " +
        "a repeat while the first still runs is 409 with `Retry-After: 1`.",
      example: "3f1c2d9e-7a57-4d0e-9d5b-6a1c1b2a9f00",
    }),
});

export const IfNoneMatchHeaders = z.object({
  "If-None-Match": z
    .string()
    .optional()
    .openapi({
      param: { name: "If-None-Match", in: "header" },
      description: "The ETag you hold; 304 if it is still current.",
      example: '"1"',
    }),
});

export const ChangesQuery = z.strictObject({
  // Length and alphabet are judged by the cursor codec (400 bad_request, as the contract says of
  // any malformed cursor), not here (which would be 422); the document still declares them.
  cursor: z
    .string()
    .optional()
    .openapi({
      param: { name: "cursor", in: "query" },
      description: "`next_cursor` of the previous call; omit it to start over. A malformed cursor is 400.",
      maxLength: MAX_CURSOR_LENGTH,
      pattern: "^[A-Za-z0-9_-]+$",
    }),
  limit: intParam("must be a whole number from 1 to 500")
    .pipe(z.number().min(1, { message: "must be at least 1" }).max(500, { message: "must be at most 500" }))
    .optional()
    .openapi({ param: { name: "limit", in: "query" }, type: "integer", minimum: 1, maximum: 500, default: 100 }),
});

export const ChangeType = z.enum(["upsert", "delete"]).openapi("ChangeType", {
  description: "`upsert`: `todo` holds the todo as it is now; `delete`: a tombstone",
  ...variantNames(["upsert", "delete"]),
});

/**
 * One object with a `type` and the members of both kinds, not a oneOf: every generator decodes it
 * (Kotlin/moshi and Dart cannot decode the oneOf). On the wire it is still exactly
 * `{type: "upsert", todo}` or `{type: "delete", id, deleted_at, version}`.
 */
export const Change = z
  .object({
    type: ChangeType,
    todo: Todo.optional(),
    id: Id.optional().openapi({ description: "With `delete`: the deleted todo's id" }),
    deleted_at: Timestamp.optional().openapi({ description: "With `delete`: when it was deleted" }),
    version: z
      .number()
      .int()
      .min(1)
      .optional()
      .openapi({ description: "With `delete`: the version the deletion gave the todo" }),
  })
  .openapi("Change", {
    description:
      "`{type: upsert, todo}` or `{type: delete, id, deleted_at, version}`: read `type`, then the members it names.",
  });

export const ChangesPage = z
  .object({
    changes: z.array(Change),
    next_cursor: z.string().openapi({ description: "Opaque; store it and send it on the next call" }),
    has_more: z.boolean().openapi({ description: "Call again with next_cursor until this is false" }),
  })
  .openapi("ChangesPage");
