import { createRouter } from "../../http/create-router.js";
import * as batchHandlers from "./batch.handlers.js";
import * as batchRoutes from "./batch.routes.js";
import * as handlers from "./todos.handlers.js";
import * as routes from "./todos.routes.js";

export const todosRouter = createRouter()
  .openapi(routes.create, handlers.create)
  .openapi(routes.list, handlers.list)
  // Before `/{id}` so "changes" is never read as an id (it would be a 404 anyway).
  .openapi(routes.changes, handlers.changes)
  .openapi(batchRoutes.batch, batchHandlers.batch)
  .openapi(routes.get, handlers.get)
  .openapi(routes.update, handlers.update)
  .openapi(routes.remove, handlers.remove)
  .openapi(routes.complete, handlers.complete)
  .openapi(routes.reopen, handlers.reopen);
