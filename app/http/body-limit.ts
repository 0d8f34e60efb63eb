import type { MiddlewareHandler } from "hono";
import { bodyLimit as streamingBodyLimit } from "hono/body-limit";
import { AppError } from "../errors.js";
import type { AppEnv } from "./app-env.js";

export const BODY_LIMIT_BYTES = 64 * 1024;

export const payloadTooLarge = () =>
  new AppError("payload_too_large", `The request body must be at most ${BODY_LIMIT_BYTES / 1024} KiB.`);

const streaming = streamingBodyLimit({
  maxSize: BODY_LIMIT_BYTES,
  onError: () => {
    throw payloadTooLarge();
  },
});

/**
 * 413 before parsing. A declared Content-Length is checked from the header alone (Node's parser
 * never delivers more than it declares); only chunked bodies are counted while streaming. Requests
 * without a body skip the check entirely, which keeps Hono's fast path for reading (or not
 * reading) the body on the Node adapter.
 */
export const bodyLimit: MiddlewareHandler<AppEnv> = async (c, next) => {
  const length = c.req.header("content-length");
  const chunked = c.req.header("transfer-encoding") !== undefined;
  if (!chunked) {
    if (length !== undefined && Number(length) > BODY_LIMIT_BYTES) throw payloadTooLarge();
    return next();
  }
  return streaming(c, next);
};
