/**
 * Volcengine's error shapes. The OpenAPI (query) services answer
 * `{"ResponseMetadata": {..., "Error": {"Code", "Message"}}}` with an HTTP status matching the
 * error class; TOS answers its own `{"Code", "Message", "RequestId", "HostId"}`.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }

  /** The same error under the service's own code (InvalidVpc.NotFound...). */
  withCode(code: string): ApiError {
    return new ApiError(this.status, code, this.message);
  }
}

export const missing = (name: string) =>
  new ApiError(400, "MissingParameter", `The required parameter ${name} is missing.`);
export const invalid = (name: string, why: string) =>
  new ApiError(400, `InvalidParameter`, `The specified parameter ${name} is invalid: ${why}`);
export const notFound = (what: string, id: string) =>
  new ApiError(404, `InvalidResource.NotFound`, `The specified ${what} ${id} is not found.`);
export const inUse = (code: string, message: string) => new ApiError(409, code, message);
export const unknownAction = (service: string, action: string) =>
  new ApiError(404, "InvalidActionOrVersion", `Could not find operation ${action} for service ${service}.`);
