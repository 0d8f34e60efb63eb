/**
 * The errors the API can answer with, one per row of the contract's error table. Services throw
 * these; the HTTP layer turns them into `{ error: { code, message, details? } }`.
 */
export type ErrorCode =
  | "bad_request"
  | "unauthorized"
  | "not_found"
  | "conflict"
  | "payload_too_large"
  | "validation_failed"
  | "rate_limited"
  | "unavailable"
  | "internal"
  | "precondition_failed"
  | "idempotency_key_reused"
  | "sync_expired"
  | "invalid_token"
  | "forbidden"
  | "account_disabled"
  | "method_not_allowed"
  | "upload_incomplete"
  | "quota_exceeded"
  | "too_many_attachments"
  | "files_disabled";

export interface ErrorDetail {
  path: string;
  message: string;
}

const STATUS: Record<ErrorCode, 400 | 401 | 403 | 404 | 405 | 409 | 410 | 412 | 413 | 422 | 429 | 503 | 500> = {
  bad_request: 400,
  unauthorized: 401,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  validation_failed: 422,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
  precondition_failed: 412,
  idempotency_key_reused: 422,
  sync_expired: 410,
  invalid_token: 400,
  forbidden: 403,
  account_disabled: 403,
  method_not_allowed: 405,
  upload_incomplete: 409,
  quota_exceeded: 422,
  too_many_attachments: 422,
  files_disabled: 404,
};

export class AppError extends Error {
  readonly status: (typeof STATUS)[ErrorCode];
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: ErrorDetail[],
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = "AppError";
    this.status = STATUS[code];
  }

  toBody(): { error: { code: ErrorCode; message: string; details?: ErrorDetail[] } } {
    return { error: { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) } };
  }
}

export const badRequest = (message: string) => new AppError("bad_request", message);
export const unauthorized = (message = "Missing, invalid or expired credentials.") =>
  new AppError("unauthorized", message);
export const notFound = (message = "Not found.") => new AppError("not_found", message);
export const conflict = (message: string, details?: ErrorDetail[]) => new AppError("conflict", message, details);
export const validationFailed = (details: ErrorDetail[], message = "The request did not pass validation.") =>
  new AppError("validation_failed", message, details);
export const rateLimited = (retryAfterSeconds: number) =>
  new AppError("rate_limited", "Too many attempts. Try again later.", undefined, retryAfterSeconds);
export const unavailable = () =>
  new AppError("unavailable", "The service is temporarily unavailable. Try again shortly.");
export const internal = () => new AppError("internal", "Something went wrong on our side.");
export const preconditionFailed = () =>
  new AppError(
    "precondition_failed",
    "The todo has changed since that version (If-Match); nothing was changed. Fetch it again.",
  );
export const idempotencyKeyReused = () =>
  new AppError("idempotency_key_reused", "This Idempotency-Key was already used for a different request.");
export const syncExpired = () =>
  new AppError("sync_expired", "This sync cursor has expired. Start over without a cursor.");
export const invalidToken = () => new AppError("invalid_token", "The token is wrong, already used or expired.");
export const stillProcessing = () =>
  new AppError(
    "conflict",
    "A request with this Idempotency-Key is still being processed. Retry shortly.",
    undefined,
    1,
  );
export const forbidden = (message = "This needs an administrator.") => new AppError("forbidden", message);
export const accountDisabled = () =>
  new AppError("account_disabled", "This account is disabled. Contact the operator of this service.");
export const uploadIncomplete = (
  message = "The upload has not arrived in full: send the bytes to the upload URL, then complete.",
) => new AppError("upload_incomplete", message);
export const quotaExceeded = (quotaBytes: number, usedBytes: number) =>
  new AppError(
    "quota_exceeded",
    `This file would pass your storage quota (${quotaBytes} bytes; ${usedBytes} in use, uploads in progress included). Delete attachments to make room.`,
  );
export const tooManyAttachments = (max: number) =>
  new AppError("too_many_attachments", `A todo can have at most ${max} attachments (uploads in progress included).`);
export const filesDisabled = () =>
  new AppError("files_disabled", "File attachments are not enabled on this server (FILES_STORAGE=off).");
export const fileTooLarge = (maxBytes: number) =>
  new AppError("payload_too_large", `A file can be at most ${maxBytes} bytes.`, [
    { path: "size", message: `must be at most ${maxBytes}` },
  ]);
