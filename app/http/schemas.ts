import { z } from "@hono/zod-openapi";

/** Shared OpenAPI pieces: the one error shape and the security requirement of protected routes. */
export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.enum([
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
        "method_not_allowed",
      ]),
      message: z.string(),
      details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    }),
  })
  .openapi("ErrorResponse");

const DESCRIPTIONS: Record<number, string> = {
  400: "Malformed JSON, wrong content type or malformed query (`bad_request`)",
  410: "The sync cursor has expired (`sync_expired`): start over without a cursor",
  412: "If-Match does not name the current version (`precondition_failed`); nothing changed",
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
export function errorResponses<S extends 400 | 401 | 404 | 409 | 410 | 412 | 413 | 422 | 429>(...statuses: S[]) {
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

export const bearerSecurity: Array<Record<string, string[]>> = [{ bearerAuth: [] }, { oauth2: [] }];
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

export const Timestamp = z.iso.datetime().openapi({ example: "2026-11-28T06:00:00.000Z" });

/** A zod error option: "is required" when the field is missing, else `message`. */
export const says = (message: string) => ({
  error: (issue: { input?: unknown }) => (issue.input === undefined ? "is required" : message),
});
