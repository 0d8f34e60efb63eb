import { createRouter } from "../../http/create-router.js";
import * as handlers from "./admin.handlers.js";
import * as routes from "./admin.routes.js";

export const adminRouter = createRouter()
  .openapi(routes.listUsers, handlers.listUsers)
  .openapi(routes.getUser, handlers.getUser)
  .openapi(routes.disableUser, handlers.disableUser)
  .openapi(routes.enableUser, handlers.enableUser)
  .openapi(routes.revokeSessions, handlers.revokeSessions)
  .openapi(routes.setRole, handlers.setRole)
  .openapi(routes.deleteUser, handlers.deleteUser)
  .openapi(routes.stats, handlers.stats)
  .openapi(routes.audit, handlers.audit);
