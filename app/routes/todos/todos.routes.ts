import { createRoute } from "@hono/zod-openapi";
import { requireAuth } from "../../http/require-auth.js";
import { bearerSecurity, errorResponses, json } from "../../http/schemas.js";
import { CreateTodoRequest, ListTodosQuery, Todo, TodoIdParams, TodoList, UpdateTodoRequest } from "./todos.schemas.js";

const common = {
  tags: ["Todos"],
  security: bearerSecurity,
  middleware: requireAuth,
};
const jsonBody = <T>(schema: T) => ({ required: true, content: { "application/json": { schema } } });

export const create = createRoute({
  ...common,
  method: "post",
  path: "/api/v1/todos",
  summary: "Create a todo",
  request: { body: jsonBody(CreateTodoRequest) },
  responses: {
    201: { ...json(Todo, "Created"), headers: { Location: { description: "/api/v1/todos/{id}", schema: { type: "string" } } } },
    ...errorResponses(400, 401, 413, 422),
  },
});

export const list = createRoute({
  ...common,
  method: "get",
  path: "/api/v1/todos",
  summary: "List my todos (total, stable order: ties broken by id)",
  request: { query: ListTodosQuery },
  responses: { 200: json(TodoList, "A page of todos"), ...errorResponses(400, 401, 422) },
});

export const get = createRoute({
  ...common,
  method: "get",
  path: "/api/v1/todos/{id}",
  summary: "One of my todos",
  request: { params: TodoIdParams },
  responses: { 200: json(Todo, "The todo"), ...errorResponses(401, 404) },
});

export const update = createRoute({
  ...common,
  method: "patch",
  path: "/api/v1/todos/{id}",
  summary: "Change any of title, description, due_date, completed",
  request: { params: TodoIdParams, body: jsonBody(UpdateTodoRequest) },
  responses: { 200: json(Todo, "The updated todo"), ...errorResponses(400, 401, 404, 413, 422) },
});

export const remove = createRoute({
  ...common,
  method: "delete",
  path: "/api/v1/todos/{id}",
  summary: "Delete a todo",
  request: { params: TodoIdParams },
  responses: { 204: { description: "Deleted" }, ...errorResponses(401, 404) },
});

export const complete = createRoute({
  ...common,
  method: "post",
  path: "/api/v1/todos/{id}/complete",
  summary: "Mark a todo completed",
  request: { params: TodoIdParams },
  responses: { 200: json(Todo, "The todo, completed"), ...errorResponses(401, 404) },
});

export const reopen = createRoute({
  ...common,
  method: "post",
  path: "/api/v1/todos/{id}/reopen",
  summary: "Mark a todo not completed",
  request: { params: TodoIdParams },
  responses: { 200: json(Todo, "The todo, reopened"), ...errorResponses(401, 404) },
});
