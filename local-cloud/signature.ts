import type { IncomingHttpHeaders } from "node:http";
import { ApiError } from "./errors.js";

/** What a request's signature says about it: who, which region and which service. */
export interface SignedScope {
  accessKey: string;
  date: string;
  region: string;
  service: string;
}

/**
 * Checks the shape of a Volcengine V4 signature (`HMAC-SHA256 Credential=AK/yyyymmdd/region/service/request,
 * SignedHeaders=..., Signature=<64 hex>` with an `X-Date` header; TOS: `TOS4-HMAC-SHA256` and `X-Tos-Date`).
 * The stand-in knows no secret keys, so any credentials are accepted and the signature itself is
 * not recomputed; a missing or malformed one is refused as the real API would.
 */
export function checkSignature(headers: IncomingHttpHeaders, query: URLSearchParams, tos: boolean): SignedScope {
  const auth = (headers.authorization as string | undefined) ?? "";
  const algorithm = tos ? "TOS4-HMAC-SHA256" : "HMAC-SHA256";
  if (!auth)
    throw new ApiError(
      401,
      tos ? "AccessDenied" : "MissingAuthenticationToken",
      "The request has no Authorization header.",
    );
  const m = new RegExp(
    `^${algorithm} Credential=([^/,\\s]+)/(\\d{8})/([a-z0-9-]+)/([A-Za-z0-9_-]+)/request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$`,
  ).exec(auth);
  if (!m) {
    throw new ApiError(
      401,
      tos ? "SignatureDoesNotMatch" : "InvalidAuthorization",
      `The Authorization header is not a ${algorithm} signature: ${auth.slice(0, 60)}`,
    );
  }
  const [, accessKey, date, region, service, signedHeaders] = m as unknown as string[];
  const dateHeader = tos ? "x-tos-date" : "x-date";
  const stamp = (headers[dateHeader] as string | undefined) ?? query.get("X-Date") ?? "";
  if (!/^\d{8}T\d{6}Z$/.test(stamp))
    throw new ApiError(
      401,
      tos ? "AccessDenied" : "InvalidTimestamp",
      `The ${dateHeader} header is missing or malformed.`,
    );
  if (!stamp.startsWith(date!))
    throw new ApiError(
      401,
      tos ? "SignatureDoesNotMatch" : "InvalidCredential",
      "The credential scope date does not match the request date.",
    );
  if (!signedHeaders!.split(";").includes(dateHeader)) {
    throw new ApiError(
      401,
      tos ? "SignatureDoesNotMatch" : "InvalidAuthorization",
      `SignedHeaders does not include ${dateHeader}.`,
    );
  }
  return { accessKey: accessKey!, date: date!, region: region!, service: service! };
}
