/**
 * The object requests of TOS's own protocol on the data plane (s3-data-plane.ts hands them here
 * when they carry a TOS signature): PUT through a presigned URL, GET with the `response-content-type`
 * and `response-content-disposition` overrides a download URL signs, HEAD and DELETE as the SDK
 * sends them. Every request's TOS4 signature is verified first (tos-signature.ts).
 *
 * Addressing: path style `/<bucket>/<key>` (what `@volcengine/tos-sdk` itself sends when its
 * endpoint is an IP address, as a loopback stand-in's is), or virtual-host style with the bucket in
 * the Host header (`<bucket>.<endpoint>`, what it sends to a domain endpoint) for a test that
 * connects to 127.0.0.1 and names the real host. Errors are TOS's JSON shape
 * `{Code, Message, RequestId, HostId, EC}`; a HEAD error has no body.
 */
import { createHash, randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Credentials } from "../ecs/metadata.js";
import type { BucketObjects } from "./s3-data-plane.js";
import { verifyTosSignature } from "./tos-signature.js";

export interface TosPlane {
  bucket: string;
  objects: BucketObjects;
  /** The Content-Type each object was uploaded with. */
  contentTypes: Map<string, string>;
  creds: () => Credentials;
  now: () => Date;
  log: { method: string; path: string; status: number; reason?: string }[];
}

/** Bucket and key of a TOS request: the bucket from the Host header when it starts with it, else the first path segment. */
function address(req: IncomingMessage, url: URL, bucket: string): { bucket: string; key: string } {
  const path = decodeURIComponent(url.pathname).replace(/^\//, "");
  if (String(req.headers.host ?? "").startsWith(`${bucket}.`)) return { bucket, key: path };
  const [first = "", ...rest] = path.split("/");
  return { bucket: first, key: rest.join("/") };
}

export function serveTosObject(req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer, p: TosPlane): void {
  const method = req.method ?? "GET";
  const requestId = randomUUID().replace(/-/g, "").toUpperCase();
  const answer = (status: number, headers: Record<string, string | number> = {}, content?: Buffer, reason?: string) => {
    p.log.push({ method, path: req.url ?? "", status, ...(reason ? { reason } : {}) });
    res.writeHead(status, { "x-tos-request-id": requestId, ...headers });
    res.end(method === "HEAD" ? undefined : content);
  };
  const error = (status: number, code: string, message: string) => {
    const text = Buffer.from(
      JSON.stringify({ Code: code, Message: message, RequestId: requestId, HostId: "local-cloud", EC: "" }),
    );
    answer(
      status,
      { "content-type": "application/json", "content-length": method === "HEAD" ? 0 : text.length },
      text,
      message,
    );
  };

  const failure = verifyTosSignature(req, url, body, { creds: p.creds(), now: p.now() });
  if (failure) return error(failure.status, failure.code, failure.message);
  const { bucket, key } = address(req, url, p.bucket);
  if (bucket !== p.bucket) return error(404, "NoSuchBucket", `The specified bucket ${bucket} does not exist.`);
  if (!key) return error(400, "NotImplemented", `the data plane serves objects only, not ${method} of a bucket`);

  if (method === "PUT") {
    const length = Number(req.headers["content-length"]);
    if (!Number.isInteger(length) || length !== body.length)
      return error(400, "IncompleteBody", "The request body is shorter than its Content-Length.");
    p.objects.set(key, body);
    p.contentTypes.set(key, String(req.headers["content-type"] ?? "application/octet-stream"));
    return answer(200, { etag: etag(body), "content-length": 0 });
  }
  if (method === "DELETE") {
    p.objects.delete(key);
    p.contentTypes.delete(key);
    return answer(204);
  }
  if (method !== "GET" && method !== "HEAD") return error(405, "MethodNotAllowed", `${method} is not allowed`);
  const object = p.objects.get(key);
  if (!object) return error(404, "NoSuchKey", "The specified key does not exist.");
  const q = url.searchParams;
  const disposition = method === "GET" ? q.get("response-content-disposition") : null;
  return answer(
    200,
    {
      "content-type":
        (method === "GET" && q.get("response-content-type")) || (p.contentTypes.get(key) ?? "application/octet-stream"),
      "content-length": object.length,
      etag: etag(object),
      ...(disposition ? { "content-disposition": disposition } : {}),
    },
    object,
  );
}

const etag = (body: Buffer) => `"${createHash("md5").update(body).digest("hex")}"`;
