import { createRouter } from "../../http/create-router.js";
import * as handlers from "./auth.handlers.js";
import * as routes from "./auth.routes.js";

export const authRouter = createRouter()
  .openapi(routes.token, handlers.token)
  .openapi(routes.refresh, handlers.refresh)
  .openapi(routes.logout, handlers.logout);
