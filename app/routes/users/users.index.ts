import { createRouter } from "../../http/create-router.js";
import * as handlers from "./users.handlers.js";
import * as routes from "./users.routes.js";

export const usersRouter = createRouter()
  .openapi(routes.register, handlers.register)
  .openapi(routes.getMe, handlers.getMe)
  .openapi(routes.updateMe, handlers.updateMe)
  .openapi(routes.changePassword, handlers.changePassword)
  .openapi(routes.deleteMe, handlers.deleteMe);
