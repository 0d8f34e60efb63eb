import type { Context } from "hono";
import { applyClear } from "../../http/clear-fields.js";
import { etagOf, ifMatch, noneMatchHits } from "../../http/conditional.js";
import type { AppRouteHandler } from "../../http/create-router.js";
import type { TodoView } from "../../services/presenters.js";
import type * as routes from "./todos.routes.js";

const tagged = <T extends TodoView>(c: Context, todo: T): T => {
  c.header("ETag", etagOf(todo.version));
  return todo;
};

export const create: AppRouteHandler<typeof routes.create> = async (c) => {
  const todo = await c.var.services.todos.create(c.var.userId, c.req.valid("json"));
  c.header("Location", `/api/v1/todos/${todo.id}`);
  return c.json(tagged(c, todo), 201);
};

export const list: AppRouteHandler<typeof routes.list> = async (c) => {
  const q = c.req.valid("query");
  const page = await c.var.services.todos.list(c.var.userId, {
    limit: q.limit ?? 20,
    offset: q.offset ?? 0,
    completed: q.completed,
    sort: q.sort ?? "-created_at",
  });
  return c.json(page, 200);
};

export const changes: AppRouteHandler<typeof routes.changes> = async (c) => {
  const q = c.req.valid("query");
  c.var.services.cleanup.maybeRun(c.var.logger);
  return c.json(await c.var.services.sync.changes(c.var.userId, q.cursor, q.limit ?? 100), 200);
};

export const get: AppRouteHandler<typeof routes.get> = async (c) => {
  const todo = await c.var.services.todos.get(c.var.userId, c.req.valid("param").id);
  if (noneMatchHits(c, todo.version)) {
    c.header("ETag", etagOf(todo.version));
    return c.body(null, 304);
  }
  return c.json(tagged(c, todo), 200);
};

export const update: AppRouteHandler<typeof routes.update> = async (c) =>
  c.json(
    tagged(
      c,
      await c.var.services.todos.update(
        c.var.userId,
        c.req.valid("param").id,
        applyClear(c.req.valid("json")),
        ifMatch(c),
      ),
    ),
    200,
  );

export const remove: AppRouteHandler<typeof routes.remove> = async (c) => {
  await c.var.services.todos.delete(c.var.userId, c.req.valid("param").id, ifMatch(c));
  c.var.services.cleanup.maybeRun(c.var.logger);
  // Its attachments' objects were queued with the deletion.
  c.var.services.fileJanitor.poke();
  return c.body(null, 204);
};

export const complete: AppRouteHandler<typeof routes.complete> = async (c) =>
  c.json(
    tagged(c, await c.var.services.todos.setCompleted(c.var.userId, c.req.valid("param").id, true, ifMatch(c))),
    200,
  );

export const reopen: AppRouteHandler<typeof routes.reopen> = async (c) =>
  c.json(
    tagged(c, await c.var.services.todos.setCompleted(c.var.userId, c.req.valid("param").id, false, ifMatch(c))),
    200,
  );
