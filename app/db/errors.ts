/**
 * Recognises "the database cannot be reached" (as opposed to a bad query), so the HTTP layer can
 * answer 503 `unavailable` and the pool can recover on its own when PostgreSQL comes back.
 */
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
]);
// SQLSTATE: class 08 connection exception; 57P01-03 shutdown / cannot connect now; 53300 too many connections.
const UNAVAILABLE_SQLSTATES = new Set(["57P01", "57P02", "57P03", "53300"]);
const MESSAGES = [
  "Connection terminated",
  "timeout exceeded when trying to connect",
  "Client has encountered a connection error",
  "Connection terminated due to connection timeout",
  "Client was closed and is not queryable",
];

export function isDatabaseUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const e = err as Error & { code?: unknown; errors?: unknown[] };
  if (typeof e.code === "string") {
    if (NETWORK_CODES.has(e.code) || UNAVAILABLE_SQLSTATES.has(e.code) || e.code.startsWith("08")) return true;
  }
  // Node reports a refused dual-stack connect as an AggregateError of per-address errors.
  if (Array.isArray(e.errors) && e.errors.some(isDatabaseUnavailable)) return true;
  if (MESSAGES.some((m) => e.message.includes(m))) return true;
  return e.cause !== undefined && e.cause !== err && isDatabaseUnavailable(e.cause);
}

/** SQLSTATE 23505 unique_violation, with the violated constraint name. */
export function uniqueViolation(err: unknown): string | null {
  const e = err as { code?: unknown; constraint?: unknown };
  return e && e.code === "23505" ? String(e.constraint ?? "") : null;
}

/** SQLSTATE 23503 foreign_key_violation. */
export function isForeignKeyViolation(err: unknown): boolean {
  return (err as { code?: unknown })?.code === "23503";
}
