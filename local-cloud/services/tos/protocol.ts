import type { IncomingMessage, ServerResponse } from "node:http";
import { createHash } from "node:crypto";
import type { CallLog } from "../../call-log.js";
import { ApiError } from "../../errors.js";
import { checkSignature } from "../../signature.js";
import type { Store } from "../../store.js";
import { tosActions } from "./index.js";
import type { TosRequest } from "./request.js";

/**
 * TOS's own protocol, as the provider (v0.0.196, common/common_volcengine_tos_handler.go) speaks it:
 * virtual-host addressing `<bucket>.tos-<region>.<suffix>` (the bucket in the host name; the
 * account-level `tos-<region>.<suffix>` for ListBuckets), or path style `/<bucket>/<key>` when
 * called directly; a `TOS4-HMAC-SHA256` signature with `X-Tos-Date`; sub-resources as query keys
 * (`?lifecycle`, `?versioning`, `?tagging`, `?acl`, `?storageClass`); JSON bodies; errors as
 * `{"Code", "Message", "RequestId", "HostId"}` with the HTTP status (a HEAD error has no body).
 */
export function isTosRequest(url: URL, req: IncomingMessage): boolean {
  return (
    /(^|\.)tos-[a-z0-9-]+\./.test(url.hostname) ||
    String(req.headers.authorization ?? "").startsWith("TOS4-") ||
    req.headers["x-tos-date"] !== undefined
  );
}

/** Sub-resources the stand-in knows, in the order a query is checked for them. */
const SUBRESOURCES = ["lifecycle", "versioning", "versions", "tagging", "acl", "storageClass"] as const;

export function serveTos(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  body: Buffer,
  store: Store,
  log: CallLog,
  requestId: string,
  time: string,
): void {
  const method = (req.method ?? "GET").toUpperCase();
  const { bucket, key } = address(url);
  const sub = SUBRESOURCES.find((s) => url.searchParams.has(s));
  const action = actionName(method, bucket, key, sub);
  const headers = Object.fromEntries(
    Object.entries(req.headers).filter(
      ([h]) =>
        h.startsWith("x-tos-") && h !== "x-tos-date" && h !== "x-tos-content-sha256" && h !== "x-tos-security-token",
    ),
  );
  let json: unknown;
  const versionId = url.searchParams.get("versionId");
  const params = { method, bucket, key, sub, headers, ...(versionId === null ? {} : { versionId }) } as Record<
    string,
    unknown
  >;
  let region = "";
  try {
    const scope = checkSignature(req.headers, url.searchParams, true);
    region = scope.region;
    if (body.length > 0 && !(method === "PUT" && key !== "" && !sub)) {
      try {
        json = JSON.parse(body.toString("utf8"));
      } catch {
        throw new ApiError(400, "MalformedJSON", "The request body is not well-formed JSON.");
      }
      params.body = json;
    }
    checkContentMd5(req, body);
    const handler = tosActions[action];
    if (!handler) throw new ApiError(501, "NotImplemented", `The stand-in does not serve TOS ${action}.`);
    const request: TosRequest = {
      method,
      bucket,
      key,
      region,
      body,
      json,
      headers: req.headers,
      query: url.searchParams,
      store,
      requestId,
    };
    const answer = handler(request) ?? {};
    const text = answer.body === undefined ? "" : JSON.stringify(answer.body);
    res.writeHead(answer.status ?? 200, {
      "x-tos-request-id": requestId,
      ...(text ? { "content-type": "application/json" } : {}),
      "content-length": method === "HEAD" ? 0 : Buffer.byteLength(text),
      ...answer.headers,
    });
    res.end(method === "HEAD" ? undefined : text);
    log.add({
      time,
      requestId,
      protocol: "tos",
      service: "tos",
      action,
      region,
      params,
      status: answer.status ?? 200,
      result: answer.body ?? {},
    });
  } catch (err) {
    const e =
      err instanceof ApiError
        ? err
        : new ApiError(500, "InternalError", `The stand-in failed: ${(err as Error).message}`);
    const text = JSON.stringify({
      Code: e.code,
      Message: e.message,
      RequestId: requestId,
      HostId: "local-cloud",
      EC: "",
    });
    res.writeHead(e.status, {
      "x-tos-request-id": requestId,
      "content-type": "application/json",
      "content-length": method === "HEAD" ? 0 : Buffer.byteLength(text),
    });
    res.end(method === "HEAD" ? undefined : text);
    log.add({
      time,
      requestId,
      protocol: "tos",
      service: "tos",
      action,
      region,
      params,
      status: e.status,
      error: e.code,
    });
  }
}

/** Bucket and object key from the host (virtual-host style) or from the path (path style). */
function address(url: URL): { bucket: string; key: string } {
  const path = decodeURIComponent(url.pathname.replace(/^\//, ""));
  const host = /^(.+)\.tos-[a-z0-9-]+\./.exec(url.hostname);
  if (host) return { bucket: host[1]!, key: path };
  if (/^tos-[a-z0-9-]+\./.test(url.hostname) || path === "") {
    const [bucket = "", ...rest] = path.split("/");
    return { bucket, key: rest.join("/") };
  }
  const [bucket = "", ...rest] = path.split("/");
  return { bucket, key: rest.join("/") };
}

/** The TOS API name of a request (what the docs call it), for the handler table and the log. */
export function actionName(method: string, bucket: string, key: string, sub: string | undefined): string {
  if (!bucket) return method === "GET" ? "ListBuckets" : `${method} /`;
  const cap = (s: string) => s[0]!.toUpperCase() + s.slice(1);
  if (sub === "versions" && method === "GET") return "ListObjectVersions";
  if (sub) return `${{ GET: "Get", PUT: "Put", DELETE: "Delete" }[method] ?? method}Bucket${cap(sub)}`;
  if (key) return `${{ GET: "Get", PUT: "Put", DELETE: "Delete", HEAD: "Head" }[method] ?? method}Object`;
  if (method === "GET") return "ListObjects";
  return `${{ PUT: "Create", DELETE: "Delete", HEAD: "Head" }[method] ?? method}Bucket`;
}

/** TOS checks a sent Content-MD5 against the body (InvalidDigest when it differs), as the tagging call sends one. */
function checkContentMd5(req: IncomingMessage, body: Buffer): void {
  const sent = req.headers["content-md5"];
  if (typeof sent !== "string") return;
  const actual = createHash("md5").update(body).digest("base64");
  if (sent !== actual)
    throw new ApiError(400, "InvalidDigest", "The Content-MD5 you specified did not match what was received.");
}
