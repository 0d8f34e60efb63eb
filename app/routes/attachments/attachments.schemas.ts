import { z } from "@hono/zod-openapi";
import { Id, Timestamp, variantNames } from "../../http/schemas.js";

/** The hard ceiling of one file (a single PUT to TOS); the operator's limit (FILES_MAX_BYTES) is lower. */
export const MAX_FILE_BYTES = 5 * 1024 ** 3;

export const AttachmentStatus = z.enum(["pending", "ready"]).openapi("AttachmentStatus", {
  description: "`pending` until `complete` found the upload whole; only `ready` attachments appear on the todo",
  ...variantNames(["pending", "ready"]),
});

export const Attachment = z
  .object({
    id: z.string().openapi({ format: "uuid", example: "0b8f5a52-3c8e-4d1c-9b7e-2f0a6c1d9e41" }),
    todo_id: Id,
    filename: z.string().openapi({ example: "receipt.pdf" }),
    content_type: z.string().openapi({ example: "application/pdf" }),
    size: z.number().int().min(0).openapi({ format: "int64", description: "Bytes", example: 48213 }),
    status: AttachmentStatus,
    created_at: Timestamp,
  })
  .openapi("Attachment");

export const PresignedMethod = z.enum(["PUT", "GET"]).openapi("PresignedMethod", {
  description: "The HTTP method to send: `PUT` uploads, `GET` downloads",
  ...variantNames(["PUT", "GET"]),
});

export const PresignedRequest = z
  .object({
    method: PresignedMethod,
    url: z
      .string()
      .openapi({ format: "uri", description: "Send the request here, as it is (it carries its signature)" }),
    headers: z
      .record(z.string(), z.string())
      .openapi({ description: "Send exactly these headers with it (they are part of what was signed)" }),
    expires_at: Timestamp.openapi({ description: "The URL stops working then (at most 15 minutes after issue)" }),
  })
  .openapi("PresignedRequest");

export const CreatedAttachment = z
  .object({ attachment: Attachment, upload: PresignedRequest })
  .openapi("CreatedAttachment", {
    description: "The new attachment (`pending`) and the request that uploads its bytes straight to storage",
  });

// Any character but control characters and path separators: a name as phones give it.
const FILENAME_PATTERN = "^[^\\u0000-\\u001f\\u007f/\\\\]+$";
const MEDIA_TYPE_PATTERN = "^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$";

export const CreateAttachmentRequest = z
  .strictObject({
    filename: z
      .string()
      .min(1, { message: "must not be empty" })
      .max(255, { message: "must be at most 255 characters" })
      .regex(new RegExp(FILENAME_PATTERN), { message: "must not contain control characters, / or \\" })
      .openapi({
        example: "receipt.pdf",
        description: "Shown to users and sent back on download; never the storage key",
      }),
    content_type: z
      .string()
      .max(127, { message: "must be at most 127 characters" })
      .regex(new RegExp(MEDIA_TYPE_PATTERN), { message: "must be a lower-case media type such as image/jpeg" })
      .openapi({
        example: "image/jpeg",
        description:
          "The file's media type, without parameters. The server accepts the types its operator allows (by default " +
          "image/jpeg, image/png, image/gif, image/webp, image/heic, image/heif, application/pdf, text/plain); another is 422.",
      }),
    size: z
      .number()
      .int()
      .min(0, { message: "must be at least 0" })
      .max(MAX_FILE_BYTES, { message: `must be at most ${MAX_FILE_BYTES}` })
      .openapi({
        format: "int64",
        example: 48213,
        description:
          "Bytes of the file, exactly. Over the server's limit (10 MiB by default) is 413 `payload_too_large`; past the " +
          "account's storage quota (100 MiB by default, uploads in progress included) 422 `quota_exceeded`.",
      }),
  })
  .openapi("CreateAttachmentRequest");

export const AttachmentIdParams = z.object({
  id: z
    .string()
    .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
    .openapi({ param: { name: "id", in: "path" }, format: "uuid", example: "0b8f5a52-3c8e-4d1c-9b7e-2f0a6c1d9e41" }),
});
