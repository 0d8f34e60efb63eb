import { z } from "@hono/zod-openapi";
import { variantNames } from "../../http/schemas.js";

const LoginName = z
  .string()
  .min(1, { message: "is required" })
  .max(254)
  .openapi({ description: "Username or email", example: "alice" });
const LoginPassword = z
  .string()
  .min(1, { message: "is required" })
  .max(1024)
  .openapi({ format: "password", example: "correct horse battery staple" });

export const LoginJson = z.strictObject({ username: LoginName, password: LoginPassword }).openapi("LoginRequest");

/** The OAuth2 password grant as browsers and Swagger UI send it (RFC 6749 §4.3). */
export const LoginForm = z
  .strictObject({
    grant_type: z
      .enum(["password"], { message: 'must be "password"' })
      .openapi("GrantType", { description: "Always `password` (RFC 6749 §4.3)", ...variantNames(["password"]) })
      .optional(),
    username: LoginName,
    password: LoginPassword,
    scope: z.string().optional().openapi({ description: "Ignored (no scopes)" }),
    client_id: z.string().optional().openapi({ description: "Ignored (public clients)" }),
    client_secret: z.string().optional().openapi({ description: "Ignored (public clients)" }),
  })
  .openapi("LoginForm");

export const RefreshRequest = z
  .strictObject({
    // Refresh tokens are base64url: anything else cannot be one (422, also on logout, which is
    // otherwise 204 for any token), and the document says so.
    refresh_token: z
      .string()
      .min(1, { message: "is required" })
      .max(512)
      .regex(/^[A-Za-z0-9_-]+$/, { message: "must be a refresh token as issued (letters, digits, _ and -)" }),
  })
  .openapi("RefreshRequest");

export const Token = z
  .object({
    access_token: z.string(),
    token_type: z
      .enum(["bearer"])
      .openapi("TokenType", { description: "Always `bearer`", ...variantNames(["bearer"]) }),
    expires_in: z.number().int().openapi({ description: "Seconds until the access token expires", example: 900 }),
    refresh_token: z.string(),
  })
  .openapi("Token");
