/**
 * Object storage cannot be used now: no or expired credentials, storage unreachable or refusing.
 * A route answers 503 with it. Its message names the file or the storage's status, error code and
 * request id, never a secret, so it may be logged as it is.
 */
export class ObjectStoreUnavailableError extends Error {
  override readonly name = "ObjectStoreUnavailableError";
}
