import { createRouter } from "../../http/create-router.js";
import * as handlers from "./attachments.handlers.js";
import * as routes from "./attachments.routes.js";

export const attachmentsRouter = createRouter()
  .openapi(routes.create, handlers.create)
  .openapi(routes.complete, handlers.complete)
  .openapi(routes.content, handlers.content)
  .openapi(routes.remove, handlers.remove);
