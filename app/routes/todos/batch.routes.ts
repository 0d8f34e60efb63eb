import { createRoute } from "@hono/zod-openapi";
import { requireAuth } from "../../http/require-auth.js";
import { bearerSecurity, errorResponses, json } from "../../http/schemas.js";
import { BatchRequest, BatchResponse } from "./batch.schemas.js";

export const batch = createRoute({
  tags: ["Todos"],
  security: bearerSecurity,
  middleware: requireAuth,
  method: "post",
  path: "/api/v1/todos/batch",
  operationId: "batchTodos",
  summary: "Apply up to 100 todo writes in one request (an offline queue), one result per operation, in order",
  description:
    "Each operation is what its single route does (create, update, delete, complete, reopen), with the same rules, " +
    "statuses and error codes, in a transaction of its own: one failing (404, 412, 422) does not undo the others. " +
    "`ref` names a todo created earlier in the batch. `idempotency_key` makes an operation safe to resend, so a whole " +
    "batch can be sent again after a lost response. A 400, 413 or 422 for the whole request means the batch itself is " +
    "malformed and nothing was applied. The `Idempotency-Key` header is refused here (422): the keys go on the operations.",
  request: { body: { required: true, content: { "application/json": { schema: BatchRequest } } } },
  responses: { 200: json(BatchResponse, "One result per operation, in order"), ...errorResponses(400, 401, 413, 422) },
});
