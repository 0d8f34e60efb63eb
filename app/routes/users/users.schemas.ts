import { z } from "@hono/zod-openapi";
import { CLEAR_DESCRIPTION, Id, says, Timestamp, variantNames } from "../../http/schemas.js";

export const Username = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{3,50}$/, says("must be 3–50 characters: letters, digits, _ . -"))
  .openapi({ example: "alice" });
/**
 * An address as RFC 5322 writes it without quotes or comments (dot-atom local part, host name of
 * two or more labels), ASCII only: what `format: email` means to a client, and nothing a mail
 * header could be injected through. Declared in the document as this pattern.
 */
const ATEXT = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]";
const LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
const EMAIL_PATTERN = new RegExp(`^${ATEXT}+(?:\\.${ATEXT}+)*@(?:${LABEL}\\.)+${LABEL}$`);
export const Email = z
  .email({ pattern: EMAIL_PATTERN, ...says("must be a valid email address") })
  .max(254, { message: "must be at most 254 characters" })
  .openapi({ example: "alice@example.com" });
export const Password = z
  .string()
  .min(8, { message: "must be at least 8 characters" })
  .max(128, { message: "must be at most 128 characters" })
  .openapi({ example: "correct horse battery staple", format: "password" });
const FullName = z
  .string()
  .max(200, { message: "must be at most 200 characters" })
  .nullable()
  .openapi({ example: "Alice Liddell" });

export const User = z
  .object({
    id: Id,
    username: z.string(),
    email: z.string().openapi({ format: "email" }),
    full_name: z.string().nullable(),
    email_verified: z
      .boolean()
      .openapi({ description: "Whether the address was confirmed with the code mailed to it" }),
    role: z.enum(["user", "admin"]).openapi("UserRole", {
      description: "`admin` can use the /api/v1/admin routes and the /admin console",
      ...variantNames(["user", "admin"]),
    }),
    created_at: Timestamp,
  })
  .openapi("User");

export const RegisterRequest = z
  .strictObject({ username: Username, email: Email, password: Password, full_name: FullName.optional() })
  .openapi("RegisterRequest");

const CurrentPassword = z.string().min(1, { message: "is required" }).max(1024);

/** The nullable fields of the account, by name: what `clear` in an update empties. */
export const UserClearableField = z.enum(["full_name"]).openapi("UserClearableField", {
  description: "A nullable field of the account that `clear` sets to null",
  ...variantNames(["full_name"]),
});

export const UpdateMeRequest = z
  .strictObject({
    email: Email.optional(),
    full_name: FullName.optional(),
    current_password: CurrentPassword.optional().openapi({
      description: "Required when `email` changes",
      format: "password",
    }),
    clear: z
      .array(UserClearableField)
      .max(1)
      .optional()
      .openapi({ description: CLEAR_DESCRIPTION, example: ["full_name"] }),
  })
  .openapi("UpdateMeRequest");

export const EmailOnly = z.strictObject({ email: Email }).openapi("PasswordResetRequest");
const MailToken = z
  .string()
  .min(1, { message: "is required" })
  .max(256)
  // Declared, not enforced: a code outside this alphabet is simply wrong (400 invalid_token).
  .openapi({ description: "The code from the mail", example: "q1bD9xTq", pattern: "^[A-Za-z0-9_-]+$" });
export const PasswordResetConfirm = z
  .strictObject({ token: MailToken, new_password: Password })
  .openapi("PasswordResetConfirm");
export const VerifyEmailRequest = z.strictObject({ token: MailToken }).openapi("VerifyEmailRequest");

export const ChangePasswordRequest = z
  .strictObject({ current_password: CurrentPassword, new_password: Password })
  .openapi("ChangePasswordRequest");
