import { createRouter } from "../../http/create-router.js";
import * as handlers from "./health.handlers.js";
import * as routes from "./health.routes.js";

export const healthRouter = createRouter()
  .openapi(routes.liveness, handlers.live)
  .openapi(routes.readiness, handlers.ready);
