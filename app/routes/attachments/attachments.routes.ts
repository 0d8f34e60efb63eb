import { createRoute } from "@hono/zod-openapi";
import { idempotent } from "../../http/idempotency.js";
import { requireAuth } from "../../http/require-auth.js";
import { bearerSecurity, errorResponses, json } from "../../http/schemas.js";
import { IdempotentHeaders, TodoIdParams } from "../todos/todos.schemas.js";
import { Attachment, AttachmentIdParams, CreateAttachmentRequest, CreatedAttachment } from "./attachments.schemas.js";

const common = { tags: ["Attachments"], security: bearerSecurity, middleware: requireAuth };
const ReplayedHeader = {
  "Idempotent-Replayed": {
    description: "`true` when this is the stored response to an earlier request with the same Idempotency-Key",
    schema: { type: "string" as const },
  },
};
const DISABLED = " When the server has files off, every attachment route is 404 `files_disabled`.";

export const create = createRoute({
  ...common,
  middleware: [requireAuth, idempotent],
  method: "post",
  path: "/api/v1/todos/{id}/attachments",
  operationId: "createAttachment",
  summary: "Start an attachment: reserve it and get a presigned upload",
  description:
    "Then send the file's bytes with `upload` (its method, URL and headers, exactly) straight to storage, and call " +
    "`completeAttachment`. The upload URL is good for this one file for at most 15 minutes." +
    DISABLED,
  request: {
    params: TodoIdParams,
    headers: IdempotentHeaders,
    body: { required: true, content: { "application/json": { schema: CreateAttachmentRequest } } },
  },
  responses: {
    201: {
      ...json(CreatedAttachment, "Reserved; upload the bytes next"),
      headers: {
        Location: { description: "/api/v1/attachments/{id}/content", required: true, schema: { type: "string" } },
        ...ReplayedHeader,
      },
    },
    ...errorResponses(400, 401, 404, 409, 413, 422),
  },
});

export const complete = createRoute({
  ...common,
  middleware: [requireAuth, idempotent],
  method: "post",
  path: "/api/v1/attachments/{id}/complete",
  operationId: "completeAttachment",
  summary: "Finish an upload: the attachment becomes ready and part of its todo",
  description:
    "Checks that storage holds the object with the declared size (else 409 `upload_incomplete`: upload, then call " +
    "again). Safe to repeat: a ready attachment is returned as it is. The todo's version grows once." +
    DISABLED,
  request: { params: AttachmentIdParams, headers: IdempotentHeaders },
  responses: {
    200: { ...json(Attachment, "The attachment, ready"), headers: ReplayedHeader },
    ...errorResponses(401, 404, 409, 422),
  },
});

export const content = createRoute({
  ...common,
  method: "get",
  path: "/api/v1/attachments/{id}/content",
  operationId: "getAttachmentContent",
  summary: "Download: a redirect to a short-lived URL of the file",
  description:
    "302 to a presigned URL (at most 15 minutes) that answers the file with `Content-Disposition` carrying its name. " +
    "An attachment whose upload is not complete is 409 `upload_incomplete`." +
    DISABLED,
  request: { params: AttachmentIdParams },
  responses: {
    302: {
      description: "The file is at Location",
      headers: { Location: { description: "The presigned download URL", required: true, schema: { type: "string" } } },
    },
    ...errorResponses(401, 404, 409),
  },
});

export const remove = createRoute({
  ...common,
  method: "delete",
  path: "/api/v1/attachments/{id}",
  operationId: "deleteAttachment",
  summary: "Delete an attachment (its file is removed from storage in the background)",
  description: `A ready attachment's todo gets a new version.${DISABLED}`,
  request: { params: AttachmentIdParams },
  responses: { 204: { description: "Deleted" }, ...errorResponses(401, 404) },
});
