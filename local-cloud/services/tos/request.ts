import type { IncomingHttpHeaders } from "node:http";
import { ApiError } from "../../errors.js";
import type { Resource, Store } from "../../store.js";

/** One TOS request as an action sees it, and what the bucket, lifecycle and object actions share. */
export interface TosRequest {
  method: string;
  bucket: string;
  key: string;
  region: string;
  body: Buffer;
  json: unknown;
  headers: IncomingHttpHeaders;
  /** The query string: sub-resources and parameters such as `versionId`. */
  query: URLSearchParams;
  store: Store;
  requestId: string;
}

export interface TosAnswer {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
}

// biome-ignore lint/suspicious/noConfusingVoidType: an action that answers nothing falls through to the default 200
export type TosAction = (r: TosRequest) => TosAnswer | void;

/** The account every stand-in resource belongs to (the same id the OpenAPI services answer with). */
export const OWNER = "2100000000";

export function bucketOf(r: TosRequest): Resource {
  const b = r.store.get("tos-bucket", r.bucket);
  if (!b) throw new ApiError(404, "NoSuchBucket", `The specified bucket ${r.bucket} does not exist.`);
  return b;
}

export function header(r: TosRequest, name: string): string | undefined {
  const v = r.headers[name];
  return typeof v === "string" && v !== "" ? v : undefined;
}

export function get(v: unknown, ...path: string[]): unknown {
  return path.reduce<unknown>(
    (node, k) => (node && typeof node === "object" ? (node as Record<string, unknown>)[k] : undefined),
    v,
  );
}
