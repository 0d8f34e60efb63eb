import { createRoute } from "@hono/zod-openapi";
import { bodyRequired } from "../../http/body-required.js";
import { idempotent } from "../../http/idempotency.js";
import { requireAuth } from "../../http/require-auth.js";
import { bearerSecurity, errorResponses, ETagHeader, json } from "../../http/schemas.js";
import {
  ChangesPage,
  ChangesQuery,
  CreateTodoRequest,
  IdempotentHeaders,
  IfMatchHeaders,
  IfNoneMatchHeaders,
  ListTodosQuery,
  Todo,
  TodoIdParams,
  TodoList,
  UpdateTodoRequest,
} from "./todos.schemas.js";

const common = {
  tags: ["Todos"],
  security: bearerSecurity,
  middleware: requireAuth,
};
const jsonBody = <T>(schema: T) => ({ required: true, content: { "application/json": { schema } } });
const withETag = (description: string) => ({ ...json(Todo, description), headers: ETagHeader });
const ReplayedHeader = {
  "Idempotent-Replayed": {
    description: "`true` when this is the stored response to an earlier request with the same Idempotency-Key",
    schema: { type: "string" as const },
  },
};

export const create = createRoute({
  ...common,
  middleware: [requireAuth, idempotent],
  method: "post",
  path: "/api/v1/todos",
  operationId: "createTodo",
  summary: "Create a todo",
  request: { headers: IdempotentHeaders, body: jsonBody(CreateTodoRequest) },
  responses: {
    201: {
      ...json(Todo, "Created"),
      headers: {
        Location: { description: "/api/v1/todos/{id}", required: true, schema: { type: "string" } },
        ...ETagHeader,
        ...ReplayedHeader,
      },
    },
    ...errorResponses(400, 401, 409, 413, 422),
  },
});

export const list = createRoute({
  ...common,
  method: "get",
  path: "/api/v1/todos",
  operationId: "listTodos",
  summary: "List my todos (total, stable order: ties broken by id)",
  request: { query: ListTodosQuery },
  responses: { 200: json(TodoList, "A page of todos"), ...errorResponses(400, 401, 422) },
});

export const changes = createRoute({
  ...common,
  method: "get",
  path: "/api/v1/todos/changes",
  operationId: "listTodoChanges",
  summary: "Delta sync: what changed since a cursor (upserts and deletions, oldest first)",
  description:
    "Without `cursor`: every live todo. With the `next_cursor` of the previous call: every change after it, a todo changed " +
    "several times once in its latest state, a deleted todo as a `delete` entry. Call again until `has_more` is false. " +
    "Nothing is missed and nothing repeats, whatever runs concurrently. A cursor older than the retention (30 days by " +
    "default) is 410 `sync_expired`: start over without one.",
  request: { query: ChangesQuery },
  responses: { 200: json(ChangesPage, "A page of changes"), ...errorResponses(400, 401, 410, 422) },
});

export const get = createRoute({
  ...common,
  method: "get",
  path: "/api/v1/todos/{id}",
  operationId: "getTodo",
  summary: "One of my todos",
  request: { params: TodoIdParams, headers: IfNoneMatchHeaders },
  responses: {
    200: withETag("The todo"),
    304: { description: "Not modified: If-None-Match names the current version", headers: ETagHeader },
    ...errorResponses(401, 404),
  },
});

export const update = createRoute({
  ...common,
  middleware: [requireAuth, bodyRequired],
  method: "patch",
  path: "/api/v1/todos/{id}",
  operationId: "updateTodo",
  summary: "Change any of title, description, due_date, completed",
  request: { params: TodoIdParams, headers: IfMatchHeaders, body: jsonBody(UpdateTodoRequest) },
  responses: { 200: withETag("The updated todo"), ...errorResponses(400, 401, 404, 412, 413, 422) },
});

export const remove = createRoute({
  ...common,
  method: "delete",
  path: "/api/v1/todos/{id}",
  operationId: "deleteTodo",
  summary: "Delete a todo",
  request: { params: TodoIdParams, headers: IfMatchHeaders },
  responses: { 204: { description: "Deleted" }, ...errorResponses(401, 404, 412) },
});

const toggle = (path: string, operationId: string, summary: string, description: string) =>
  createRoute({
    ...common,
    middleware: [requireAuth, idempotent],
    method: "post",
    path,
    operationId,
    summary,
    request: { params: TodoIdParams, headers: IdempotentHeaders.merge(IfMatchHeaders) },
    responses: {
      200: { ...json(Todo, description), headers: { ...ETagHeader, ...ReplayedHeader } },
      ...errorResponses(401, 404, 409, 412, 422),
    },
  });

export const complete = toggle(
  "/api/v1/todos/{id}/complete",
  "completeTodo",
  "Mark a todo completed",
  "The todo, completed",
);
export const reopen = toggle(
  "/api/v1/todos/{id}/reopen",
  "reopenTodo",
  "Mark a todo not completed",
  "The todo, reopened",
);
