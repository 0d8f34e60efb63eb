/**
 * TOS's data plane on 127.0.0.1 (or the rehearsal's end of its container network), in both of the
 * protocols TOS speaks. Its S3-compatible one, what a server copies its backups through: PUT/GET
 * object and ListObjectsV2, path style or virtual-hosted (the bucket in the Host header), each
 * request's AWS Signature V4 VERIFIED with the role's secret and session token — written from the specification, independently of
 * cloud-init/lib/offsite.mjs, so a signing bug fails. Its own (TOS4-HMAC-SHA256 in a header or a
 * presigned URL), what the app's file store and the mobile clients use: tos-data-plane.ts. It serves a
 * bucket of the emulator's store (the same bucket, versions and delete markers the TOS protocol
 * serves, objects.ts), its own store when none is given. It can be told to fail the next
 * requests, to exercise the client's retries. The credentials come from the ECS metadata
 * stand-in (../ecs/metadata.ts).
 */
import { createHash, createHmac } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { listen } from "../../listen.js";
import type { Resource } from "../../store.js";
import type { Credentials } from "../ecs/metadata.js";
import { Store } from "../../store.js";
import { bucketActions } from "./bucket.js";
import { currentContent, currentKeys, deleteObject, putObject } from "./objects.js";
import { serveTosObject } from "./tos-data-plane.js";
import { isTosSigned } from "./tos-signature.js";

export interface S3StandIn {
  url: string;
  /** The bucket's current objects (its versions and delete markers are in the store). */
  objects: BucketObjects;
  /** Every request: method, path, status answered. */
  log: { method: string; path: string; status: number; reason?: string }[];
  /** Answer the next n requests with this status (e.g. 503) before handling them. */
  failNext(n: number, status?: number): void;
  close(): Promise<void>;
}

const sha256 = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");
const hmac = (key: Buffer | string, data: string) => createHmac("sha256", key).update(data).digest();

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** RFC 3986 encoding of a query component, as SigV4 specifies. */
const rfc3986 = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** Returns undefined when the signature is valid, else why not. */
export function verifySigV4(
  req: IncomingMessage,
  body: Buffer,
  opts: { region: string; creds: Credentials; now?: Date },
): string | undefined {
  const auth = req.headers.authorization ?? "";
  const m =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/.exec(
      auth,
    );
  if (!m) return `malformed Authorization header: ${auth}`;
  const [, keyId, day, region, signedHeaders, signature] = m as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if (keyId !== opts.creds.AccessKeyId) return "unknown access key";
  if (region !== opts.region) return `wrong region ${region}`;
  const amzDate = String(req.headers["x-amz-date"] ?? "");
  if (!amzDate.startsWith(day)) return "x-amz-date does not match the credential scope";
  const skew = Math.abs(
    (opts.now ?? new Date()).getTime() -
      Date.parse(amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, "$1-$2-$3T$4:$5:$6Z")),
  );
  if (!(skew < 15 * 60_000)) return "request time too skewed";
  const names = signedHeaders.split(";");
  for (const required of ["host", "x-amz-date", "x-amz-content-sha256", "x-amz-security-token"]) {
    if (!names.includes(required)) return `${required} is not signed`;
  }
  if (req.headers["x-amz-security-token"] !== opts.creds.SessionToken) return "wrong or missing session token";
  const payloadHash = String(req.headers["x-amz-content-sha256"] ?? "");
  if (payloadHash !== sha256(body)) return "x-amz-content-sha256 does not match the body";
  const url = new URL(req.url ?? "/", "http://x");
  const query = [...url.searchParams]
    .map(([k, v]) => `${rfc3986(k)}=${rfc3986(v)}`)
    .sort()
    .join("&");
  const headerLines = names
    .map(
      (n) =>
        `${n}:${String(req.headers[n] ?? "")
          .trim()
          .replace(/\s+/g, " ")}\n`,
    )
    .join("");
  const canonical = [req.method, url.pathname, query, headerLines, signedHeaders, payloadHash].join("\n");
  const scope = `${day}/${region}/s3/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256(canonical)].join("\n");
  const kSigning = hmac(hmac(hmac(hmac(`AWS4${opts.creds.SecretAccessKey}`, day), region), "s3"), "aws4_request");
  const expected = createHmac("sha256", kSigning).update(stringToSign).digest("hex");
  return expected === signature ? undefined : "signature mismatch";
}

/** The bucket's current objects as a map (what the tests and the rehearsal read and plant). */
export class BucketObjects {
  constructor(
    private readonly store: Store,
    private readonly bucket: () => Resource,
  ) {}
  get(key: string): Buffer | undefined {
    return currentContent(this.bucket(), key);
  }
  has(key: string): boolean {
    return currentKeys(this.bucket()).includes(key);
  }
  set(key: string, body: Buffer): void {
    putObject(this.store, this.bucket(), key, body);
  }
  delete(key: string): boolean {
    const had = this.has(key);
    deleteObject(this.store, this.bucket(), key);
    return had;
  }
  keys(): IterableIterator<string> {
    return currentKeys(this.bucket())[Symbol.iterator]();
  }
  get size(): number {
    return currentKeys(this.bucket()).length;
  }
}

const xmlEscape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export async function startS3StandIn(opts: {
  bucket: string;
  region: string;
  /**
   * The credentials requests may be signed with: one role's, or several (each request is checked
   * with the one its access key names), for a bucket that more than one role reaches.
   */
  creds: () => Credentials | Credentials[];
  pageSize?: number;
  host?: string;
  /** The emulator's store whose TOS bucket this serves (created there if missing); default: a store of its own. */
  store?: Store;
  /** The stand-in's clock, for the expiry of presigned URLs (default: the time of day). */
  now?: () => Date;
}): Promise<S3StandIn> {
  const store = opts.store ?? new Store();
  if (!store.get("tos-bucket", opts.bucket))
    bucketActions.CreateBucket!({
      method: "PUT",
      bucket: opts.bucket,
      key: "",
      region: opts.region,
      body: Buffer.alloc(0),
      json: undefined,
      headers: {},
      query: new URLSearchParams(),
      store,
      requestId: "",
    });
  const bucketResource = () => {
    const b = store.get("tos-bucket", opts.bucket);
    if (!b) throw new Error(`the bucket ${opts.bucket} is gone`);
    return b;
  };
  const objects = new BucketObjects(store, bucketResource);
  const contentTypes = new Map<string, string>();
  const log: S3StandIn["log"] = [];
  let failures: { n: number; status: number } = { n: 0, status: 503 };

  const answer = (req: IncomingMessage, res: ServerResponse, status: number, body = "", reason?: string) => {
    log.push({ method: req.method ?? "", path: req.url ?? "", status, ...(reason ? { reason } : {}) });
    res.writeHead(status, { "content-type": "application/xml", "content-length": Buffer.byteLength(body) });
    res.end(body);
  };
  const error = (code: string, message: string) =>
    `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error>`;

  const server = createServer(async (req, res) => {
    const body = await readBody(req);
    if (failures.n > 0) {
      failures.n--;
      return answer(req, res, failures.status, error("ServiceUnavailable", "injected failure"));
    }
    const url = new URL(req.url ?? "/", "http://x");
    if (isTosSigned(req, url))
      return serveTosObject(req, res, url, body, {
        bucket: opts.bucket,
        objects,
        contentTypes,
        creds: () => [opts.creds()].flat()[0]!,
        now: opts.now ?? (() => new Date()),
        log,
      });
    const all = [opts.creds()].flat();
    const keyId = /Credential=([^/,]+)\//.exec(req.headers.authorization ?? "")?.[1];
    const creds = all.find((c) => c.AccessKeyId === keyId) ?? all[0]!;
    const problem = verifySigV4(req, body, { region: opts.region, creds, now: opts.now?.() });
    if (problem) return answer(req, res, 403, error("SignatureDoesNotMatch", problem), problem);
    // Virtual-hosted style (`<bucket>.<endpoint>`, what TOS's clients use by default) or path style.
    const virtualHost = String(req.headers.host ?? "").startsWith(`${opts.bucket}.`);
    const [, bucket, ...rest] = virtualHost
      ? ["", opts.bucket, ...url.pathname.slice(1).split("/")]
      : url.pathname.split("/");
    if (bucket !== opts.bucket) return answer(req, res, 404, error("NoSuchBucket", String(bucket)));
    const key = decodeURIComponent(rest.join("/"));
    if (req.method === "PUT" && key) {
      if (Number(req.headers["content-length"]) !== body.length)
        return answer(req, res, 400, error("IncompleteBody", "length"));
      objects.set(key, body);
      return answer(req, res, 200);
    }
    if (req.method === "GET" && key) {
      const object = objects.get(key);
      if (!object) return answer(req, res, 404, error("NoSuchKey", key));
      log.push({ method: "GET", path: req.url ?? "", status: 200 });
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": object.length });
      return res.end(object);
    }
    if (req.method === "GET" && url.searchParams.get("list-type") === "2") {
      const prefix = url.searchParams.get("prefix") ?? "";
      const keys = [...objects.keys()].filter((k) => k.startsWith(prefix)).sort();
      const start = Number(url.searchParams.get("continuation-token") ?? "0");
      const size = opts.pageSize ?? 1000;
      const page = keys.slice(start, start + size);
      const truncated = start + size < keys.length;
      const contents = page
        .map(
          (k) =>
            `<Contents><Key>${xmlEscape(k)}</Key><LastModified>2026-11-28T03:30:00.000Z</LastModified><Size>${objects.get(k)!.length}</Size></Contents>`,
        )
        .join("");
      return answer(
        req,
        res,
        200,
        `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>${opts.bucket}</Name><Prefix>${xmlEscape(prefix)}</Prefix><KeyCount>${page.length}</KeyCount><IsTruncated>${truncated}</IsTruncated>${truncated ? `<NextContinuationToken>${start + size}</NextContinuationToken>` : ""}${contents}</ListBucketResult>`,
      );
    }
    return answer(req, res, 400, error("NotImplemented", `${req.method} ${req.url}`));
  });
  const url = await listen(server, opts.host);
  return {
    url,
    objects,
    log,
    failNext: (n, status = 503) => {
      failures = { n, status };
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
