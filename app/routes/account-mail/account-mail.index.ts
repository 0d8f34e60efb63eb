import { createRouter } from "../../http/create-router.js";
import * as handlers from "./account-mail.handlers.js";
import * as routes from "./account-mail.routes.js";

export const accountMailRouter = createRouter()
  .openapi(routes.requestPasswordReset, handlers.requestPasswordReset)
  .openapi(routes.confirmPasswordReset, handlers.confirmPasswordReset)
  .openapi(routes.requestEmailVerification, handlers.requestEmailVerification)
  .openapi(routes.verifyEmail, handlers.verifyEmail);
