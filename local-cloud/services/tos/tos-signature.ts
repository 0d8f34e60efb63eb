/**
 * TOS's own request signature, `TOS4-HMAC-SHA256`, VERIFIED the way TOS documents it ("签名机制" and
 * "URL 中包含签名", volcengine.com/docs/6349/129225 and /129226): in the `Authorization` header (what
 * the SDK sends for HEAD and DELETE) or in the query string of a presigned URL
 * (`X-Tos-Algorithm`, `-Credential`, `-Date`, `-Expires`, `-SignedHeaders`, `-Signature`, and
 * `X-Tos-Security-Token` for STS credentials). Written from the documentation, independently of
 * `@volcengine/tos-sdk`, so a signing mistake in the app's store fails a test here.
 *
 * The canonical request is the one of AWS SigV4 with TOS's names: method, URI-encoded path (slashes
 * kept), the query sorted and RFC 3986-encoded (without `X-Tos-Signature`), the signed headers with
 * their trimmed values, their names, and the payload hash (`UNSIGNED-PAYLOAD` for a URL; for a
 * header signature the `x-tos-content-sha256` sent, else the hash of an empty body). The signing
 * key chains HMAC-SHA256 over the secret, the date, the region, `tos` and `request`.
 *
 * The region is the one the credential scope names. The official SDKs do not agree on it: the Go
 * SDK puts the bucket's region there, the JavaScript SDK (2.9.1, `getSignatureQuery`) its endpoint
 * host for presigned URLs. TOS must derive the key from what the scope says for both to work, so
 * the stand-in does the same (a choice, listed in docs/local-cloud.md).
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Credentials } from "../ecs/metadata.js";

export const EMPTY_SHA256 = createHash("sha256").update("").digest("hex");
const MAX_SKEW_MS = 15 * 60_000;
const MAX_URL_LIFETIME_S = 604_800;

/** Why a TOS-signed request was refused: the HTTP status and TOS's error code. */
export interface TosAuthFailure {
  status: 400 | 403;
  code: string;
  message: string;
}

const sha256 = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");
const hmac = (key: Buffer | string, data: string) => createHmac("sha256", key).update(data).digest();

/** TOS's UriEncode: everything but A-Z a-z 0-9 - . _ ~ as %XX (upper case); `/` kept in a path. */
export function uriEncode(s: string, keepSlash: boolean): string {
  return [...Buffer.from(s, "utf8")]
    .map((b) => {
      const c = String.fromCharCode(b);
      if (/[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === "/")) return c;
      return `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
    })
    .join("");
}

/** Is this request signed the TOS way (header or query), rather than with AWS SigV4? */
export function isTosSigned(req: IncomingMessage, url: URL): boolean {
  return String(req.headers.authorization ?? "").startsWith("TOS4-") || url.searchParams.has("X-Tos-Algorithm");
}

const parseStamp = (s: string) =>
  Date.parse(s.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, "$1-$2-$3T$4:$5:$6Z"));

const deny = (message: string, code = "AccessDenied"): TosAuthFailure => ({ status: 403, code, message });

/** Returns undefined when the request carries a valid TOS signature of `creds`, else why not. */
export function verifyTosSignature(
  req: IncomingMessage,
  url: URL,
  body: Buffer,
  opts: { creds: Credentials; now: Date },
): TosAuthFailure | undefined {
  const q = url.searchParams;
  const inQuery = q.has("X-Tos-Algorithm");
  let credential: string;
  let signedHeaders: string;
  let signature: string;
  let stamp: string;
  if (inQuery) {
    if (q.get("X-Tos-Algorithm") !== "TOS4-HMAC-SHA256") return deny("unsupported X-Tos-Algorithm");
    credential = q.get("X-Tos-Credential") ?? "";
    signedHeaders = q.get("X-Tos-SignedHeaders") ?? "";
    signature = q.get("X-Tos-Signature") ?? "";
    stamp = q.get("X-Tos-Date") ?? "";
  } else {
    const auth = String(req.headers.authorization ?? "");
    const m = /^TOS4-HMAC-SHA256 Credential=([^,\s]+), ?SignedHeaders=([^,\s]+), ?Signature=(\S+)$/.exec(auth);
    if (!m) return deny("the Authorization header is not a TOS4-HMAC-SHA256 signature", "SignatureDoesNotMatch");
    [, credential, signedHeaders, signature] = m as unknown as [string, string, string, string];
    stamp = String(req.headers["x-tos-date"] ?? "");
  }
  const scope = /^([^/]+)\/(\d{8})\/([^/]+)\/tos\/request$/.exec(credential);
  if (!scope) return deny(`malformed credential ${credential}`);
  const [, keyId, day, region] = scope as unknown as [string, string, string, string];
  if (!/^\d{8}T\d{6}Z$/.test(stamp)) return deny("the request date is missing or malformed");
  if (!stamp.startsWith(day)) return deny("the request date does not match the credential scope");
  if (!/^[0-9a-f]{64}$/.test(signature)) return deny("malformed signature", "SignatureDoesNotMatch");
  if (keyId !== opts.creds.AccessKeyId) return deny("the access key does not exist", "InvalidAccessKeyId");

  const signedAt = parseStamp(stamp);
  const now = opts.now.getTime();
  if (inQuery) {
    const expires = Number(q.get("X-Tos-Expires"));
    if (!Number.isInteger(expires) || expires < 1 || expires > MAX_URL_LIFETIME_S)
      return deny("X-Tos-Expires must be an integer of 1 to 604800 seconds");
    if (now > signedAt + expires * 1000) return deny("Request has expired");
    if (signedAt - now > MAX_SKEW_MS) return deny("the request date is in the future");
  } else if (!(Math.abs(now - signedAt) < MAX_SKEW_MS)) {
    return deny("RequestTimeTooSkewed: the request time differs from the server's by more than 15 minutes");
  }

  const names = signedHeaders.split(";");
  if (!names.includes("host")) return deny("the host header is not signed", "SignatureDoesNotMatch");
  for (const h of Object.keys(req.headers)) {
    if (h.startsWith("x-tos-") && !names.includes(h)) return deny(`${h} is sent but not signed`);
  }
  const token = inQuery ? q.get("X-Tos-Security-Token") : req.headers["x-tos-security-token"];
  if (opts.creds.SessionToken && token !== opts.creds.SessionToken)
    return deny("the security token is missing, wrong or expired", "InvalidSecurityToken");

  let payload = "UNSIGNED-PAYLOAD";
  if (!inQuery) {
    const sent = req.headers["x-tos-content-sha256"];
    // Without the header, the Go SDK signs the hash of an empty body whatever it sends.
    payload = typeof sent === "string" ? sent : EMPTY_SHA256;
    if (typeof sent === "string" && sent !== "UNSIGNED-PAYLOAD" && sent !== sha256(body))
      return { status: 400, code: "BadDigest", message: "x-tos-content-sha256 does not match the body" };
  }
  const query = [...q]
    .filter(([k]) => k !== "X-Tos-Signature")
    .map(([k, v]) => [uriEncode(k, false), uriEncode(v, false)] as const)
    .sort(([a, x], [b, y]) => (a === b ? (x < y ? -1 : 1) : a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  const headerLines = names
    .map(
      (n) =>
        `${n}:${String(req.headers[n] ?? "")
          .trim()
          .replace(/\s+/g, " ")}\n`,
    )
    .join("");
  const path = uriEncode(decodeURIComponent(url.pathname), true);
  const canonical = [req.method, path, query, headerLines, signedHeaders, payload].join("\n");
  const stringToSign = ["TOS4-HMAC-SHA256", stamp, `${day}/${region}/tos/request`, sha256(canonical)].join("\n");
  const key = hmac(hmac(hmac(hmac(opts.creds.SecretAccessKey, day), region), "tos"), "request");
  const expected = createHmac("sha256", key).update(stringToSign).digest();
  return timingSafeEqual(expected, Buffer.from(signature, "hex"))
    ? undefined
    : deny("The request signature we calculated does not match the signature you provided.", "SignatureDoesNotMatch");
}
