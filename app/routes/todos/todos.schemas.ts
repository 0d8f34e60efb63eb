import { z } from "@hono/zod-openapi";
import { says, Timestamp } from "../../http/schemas.js";

const Title = z
  .string()
  .trim()
  .min(1, { message: "must not be empty" })
  .max(200, { message: "must be at most 200 characters" })
  .openapi({ example: "Buy milk", description: "1–200 characters after trimming (stored trimmed)" });
const Description = z.string().max(2000, { message: "must be at most 2000 characters" }).nullable().openapi({ example: "2 litres" });
const DueDate = z.iso
  .datetime({ offset: true, ...says("must be an RFC 3339 date-time, e.g. 2026-11-28T06:00:00Z") })
  .nullable()
  .openapi({ example: "2026-11-28T06:00:00.000Z" });

export const Todo = z
  .object({
    id: z.number().int().openapi({ example: 1 }),
    title: z.string(),
    description: z.string().nullable(),
    due_date: Timestamp.nullable(),
    completed: z.boolean(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("Todo");

export const TodoList = z
  .object({ items: z.array(Todo), total: z.number().int(), limit: z.number().int(), offset: z.number().int() })
  .openapi("TodoList");

export const CreateTodoRequest = z
  .strictObject({ title: Title, description: Description.optional(), due_date: DueDate.optional(), completed: z.boolean().optional() })
  .openapi("CreateTodoRequest");

export const UpdateTodoRequest = z
  .strictObject({ title: Title.optional(), description: Description.optional(), due_date: DueDate.optional(), completed: z.boolean().optional() })
  .openapi("UpdateTodoRequest");

const intParam = (message: string) => z.string().regex(/^\d+$/, { message }).transform(Number);

export const ListTodosQuery = z.strictObject({
  limit: intParam("must be a whole number from 1 to 100")
    .pipe(z.number().min(1, { message: "must be at least 1" }).max(100, { message: "must be at most 100" }))
    .optional()
    .openapi({ param: { name: "limit", in: "query" }, type: "integer", minimum: 1, maximum: 100, default: 20 }),
  offset: intParam("must be a whole number, 0 or more")
    .pipe(z.number().max(2_147_483_647, { message: "is too large" }))
    .optional()
    .openapi({ param: { name: "offset", in: "query" }, type: "integer", minimum: 0, default: 0 }),
  completed: z
    .enum(["true", "false"], { message: 'must be "true" or "false"' })
    .transform((v) => v === "true")
    .optional()
    .openapi({ param: { name: "completed", in: "query" }, type: "boolean" }),
  sort: z
    .enum(["created_at", "-created_at", "due_date", "-due_date"], { message: "must be one of created_at, -created_at, due_date, -due_date" })
    .optional()
    .openapi({ param: { name: "sort", in: "query" }, default: "-created_at" }),
});

export const TodoIdParams = z.object({
  id: z
    .string()
    .regex(/^[1-9]\d{0,15}$/)
    .transform(Number)
    .openapi({ param: { name: "id", in: "path" }, type: "integer", example: 1 }),
});
