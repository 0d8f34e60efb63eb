import { z } from "@hono/zod-openapi";

/** Shared OpenAPI pieces: the one error shape and the security requirement of protected routes. */
/**
 * Variant names for a named enum, the same in every generated client (`BAD_REQUEST`): left to
 * themselves generators mangle values their language reserves (Swift's `internal` → `_internal`).
 */
export const variantNames = (values: readonly string[]) => ({
  "x-enum-varnames": values.map((v) => v.toUpperCase()),
});

const ERROR_CODES = [
  "bad_request",
  "unauthorized",
  "not_found",
  "conflict",
  "payload_too_large",
  "validation_failed",
  "rate_limited",
  "unavailable",
  "internal",
  "precondition_failed",
  "idempotency_key_reused",
  "sync_expired",
  "invalid_token",
  "forbidden",
  "account_disabled",
  "method_not_allowed",
  "upload_incomplete",
  "quota_exceeded",
  "too_many_attachments",
  "files_disabled",
] as const;

export const ErrorCode = z.enum(ERROR_CODES).openapi("ErrorCode", {
  description: "Stable, machine-readable; new codes may be added",
  ...variantNames(ERROR_CODES),
});

export const FieldError = z
  .object({ path: z.string().openapi({ example: "title" }), message: z.string() })
  .openapi("FieldError", { description: "One failing field: its path in the body or query, and why" });

export const ErrorInfo = z
  .object({ code: ErrorCode, message: z.string(), details: z.array(FieldError).optional() })
  .openapi("ErrorInfo");

/**
 * The one error shape `{error: {code, message, details?}}`. Named `ErrorBody`, not `ErrorResponse`:
 * Swift clients reserve that name (the generator would rename it with a warning on every use).
 */
export const ErrorSchema = z
  .object({ error: ErrorInfo })
  .openapi("ErrorBody", { description: "Every error response has this shape" });

const DESCRIPTIONS: Record<number, string> = {
  400: "Malformed JSON, wrong content type or malformed query (`bad_request`)",
  410: "The sync cursor has expired (`sync_expired`): start over without a cursor",
  412: "If-Match does not name the current version (`precondition_failed`); nothing changed",
  403: "Not allowed: the route needs an administrator (`forbidden`), or the account is disabled (`account_disabled`)",
  401: "Missing, malformed, tampered, expired or revoked credentials (`unauthorized`)",
  404: "No such resource (`not_found`)",
  409: "Username or email already registered (`conflict`)",
  413: "Body over 64 KiB (`payload_too_large`)",
  422: "Validation failed; `details` lists each failing field (`validation_failed`)",
  429: "Too many attempts (`rate_limited`); see Retry-After",
  500: "Unexpected error (`internal`)",
  503: "The database cannot be reached (`unavailable`)",
};

type HeaderSpec = { description: string; required?: boolean; schema: { type: "string" | "integer" } };

const HEADERS: Record<number, Record<string, HeaderSpec>> = {
  401: {
    "WWW-Authenticate": { description: 'Always `Bearer realm="todo-api"`', required: true, schema: { type: "string" } },
  },
  409: {
    "Retry-After": {
      description: "Sent (1) when the Idempotency-Key is still being processed",
      schema: { type: "integer" },
    },
  },
  429: {
    "Retry-After": { description: "Seconds to wait before retrying", required: true, schema: { type: "integer" } },
  },
  503: {
    "Retry-After": { description: "Seconds to wait before retrying", required: true, schema: { type: "integer" } },
  },
};

/** Error responses for a route, plus the ones every route can give (500, 503). */
export function errorResponses<S extends 400 | 401 | 403 | 404 | 409 | 410 | 412 | 413 | 422 | 429>(...statuses: S[]) {
  const all = [...statuses, 500, 503] as number[];
  return Object.fromEntries(
    all.map((s) => [
      s,
      {
        description: DESCRIPTIONS[s]!,
        ...(HEADERS[s] ? { headers: HEADERS[s] } : {}),
        content: { "application/json": { schema: ErrorSchema } },
      },
    ]),
  ) as Record<S | 500 | 503, { description: string; content: { "application/json": { schema: typeof ErrorSchema } } }>;
}

/**
 * One scheme, HTTP bearer: every generator sends it as `Authorization: Bearer <token>` (with a second,
 * OAuth2, scheme listed too, generators applied both and some wrote the bare token). /docs logs in
 * through the OAuth2 password flow all the same (docs.ts).
 */
export const bearerSecurity: Array<Record<string, string[]>> = [{ bearerAuth: [] }];
/** Routes anyone may call declare it, so generators and linters know they need no credentials. */
export const publicSecurity: Array<Record<string, string[]>> = [];

/** Ids are bigint in the database: int64, so no generator picks a 32-bit type. */
export const Id = z.number().int().openapi({ format: "int64", example: 1 });

export const ETagHeader = {
  ETag: {
    description: 'The todo\'s version as a strong entity tag, e.g. `"3"`',
    required: true,
    schema: { type: "string" as const },
  },
};

export const RequestIdHeader = {
  "X-Request-Id": {
    description: "Echo of a valid incoming X-Request-Id, else a generated one",
    schema: { type: "string" as const },
  },
};

/** Text body of every JSON success response. */
export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

export const CLEAR_DESCRIPTION =
  "Fields to set to null, by name: the way to clear a field from clients that cannot send a JSON null " +
  "(Gson, moshi and Swift drop nulls). Sending `null` for the field itself clears it too. " +
  "Naming a field here and giving it a value in the same body is a 422.";

export const Timestamp = z.iso.datetime().openapi({ example: "2026-11-28T06:00:00.000Z" });

/** A zod error option: "is required" when the field is missing, else `message`. */
export const says = (message: string) => ({
  error: (issue: { input?: unknown }) => (issue.input === undefined ? "is required" : message),
});
