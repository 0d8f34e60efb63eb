import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { uriEncode, verifyTosSignature } from "../../local-cloud/services/tos/tos-signature.js";

// The data plane's TOS4-HMAC-SHA256 verifier against signatures computed by another official SDK
// than the one the app uses: the test vectors of Volcengine's Go SDK (ve-tos-golang-sdk,
// tos/sign_v4_test.go, TestAlgV4), a presigned GET and a header-signed GET of the same request.
// Both agreeing with the JavaScript SDK (test/app/tos-object-store.test.ts) is what makes the
// stand-in TOS's algorithm rather than one SDK's.

const creds = {
  AccessKeyId: "AKIAIOSFODNN7EXAMPLE",
  SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  SessionToken: "", // static credentials: no security token
};
const signedAt = new Date("2021-07-21T10:44:54Z");

const request = (method: string, url: string, headers: Record<string, string>) =>
  ({ method, url, headers }) as unknown as IncomingMessage;

function verify(method: string, path: string, headers: Record<string, string>, now = signedAt) {
  const req = request(method, path, { host: "test.tos.com:8080", ...headers });
  return verifyTosSignature(req, new URL(path, "http://x"), Buffer.alloc(0), { creds, now });
}

const QUERY =
  "X-Tos-Algorithm=TOS4-HMAC-SHA256&X-Tos-Credential=AKIAIOSFODNN7EXAMPLE%2F20210721%2Fcn-north-1%2Ftos%2Frequest" +
  "&X-Tos-Date=20210721T104454Z&X-Tos-Expires=3600&X-Tos-SignedHeaders=host" +
  "&X-Tos-Signature=decc75e2b2d453117f81e53954eb2cd3a2f56db2951e9b2257863db4c4921111";
const HEADER_SIGNED = {
  authorization:
    "TOS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20210721/cn-north-1/tos/request,SignedHeaders=date;host;x-tos-date,Signature=8851df83fd33af6fb4a28addbe938d88139715dca85bbb43ee739c3eb58eddf2",
  date: "20210721T104454Z",
  "x-tos-date": "20210721T104454Z",
};

describe("local cloud: the TOS4-HMAC-SHA256 verifier", () => {
  it("accepts the Go SDK's presigned URL within its hour, and refuses it after", () => {
    expect(verify("GET", `/test.txt?${QUERY}`, {}, new Date("2021-07-21T11:30:00Z"))).toBeUndefined();
    expect(verify("GET", `/test.txt?${QUERY}`, {}, new Date("2021-07-21T11:45:00Z"))).toMatchObject({
      status: 403,
      code: "AccessDenied",
      message: "Request has expired",
    });
  });

  it("refuses the same URL for another key, method, host or an added parameter", () => {
    expect(verify("GET", `/test2.txt?${QUERY}`, {})?.code).toBe("SignatureDoesNotMatch");
    expect(verify("PUT", `/test.txt?${QUERY}`, {})?.code).toBe("SignatureDoesNotMatch");
    expect(verify("GET", `/test.txt?${QUERY}`, { host: "test.tos.com" })?.code).toBe("SignatureDoesNotMatch");
    expect(verify("GET", `/test.txt?${QUERY}&response-content-type=text%2Fhtml`, {})?.code).toBe(
      "SignatureDoesNotMatch",
    );
  });

  it("accepts the Go SDK's header signature (no x-tos-content-sha256: the empty body's hash) and refuses it tampered", () => {
    expect(verify("GET", "/test.txt", HEADER_SIGNED, new Date("2021-07-21T10:50:00Z"))).toBeUndefined();
    expect(verify("HEAD", "/test.txt", HEADER_SIGNED)?.code).toBe("SignatureDoesNotMatch");
    expect(verify("GET", "/test.txt", { ...HEADER_SIGNED, date: "20210721T104455Z" })?.code).toBe(
      "SignatureDoesNotMatch",
    );
    // Fifteen minutes of clock skew at most, as for any header signature.
    expect(verify("GET", "/test.txt", HEADER_SIGNED, new Date("2021-07-21T11:00:00Z"))?.message).toMatch(
      /RequestTimeTooSkewed/,
    );
  });

  it("refuses an x-tos-* header that is sent but not signed, and a security token the credentials do not have", () => {
    expect(verify("GET", "/test.txt", { ...HEADER_SIGNED, "x-tos-acl": "public-read" })?.message).toBe(
      "x-tos-acl is sent but not signed",
    );
    const sts = { ...creds, SessionToken: "sts-token" };
    const req = request("GET", `/test.txt?${QUERY}`, { host: "test.tos.com:8080" });
    expect(
      verifyTosSignature(req, new URL(`/test.txt?${QUERY}`, "http://x"), Buffer.alloc(0), { creds: sts, now: signedAt })
        ?.code,
    ).toBe("InvalidSecurityToken");
  });

  it("encodes as TOS's UriEncode does (the Go SDK's TestURIEncode)", () => {
    expect(uriEncode("23i23+___", false)).toBe("23i23%2B___");
    expect(uriEncode("23i23 ___", false)).toBe("23i23%20___");
    expect(uriEncode("23i23 /___", false)).toBe("23i23%20%2F___");
    expect(uriEncode("23i23 /___", true)).toBe("23i23%20/___");
    expect(uriEncode("报告'(*)!", false)).toBe("%E6%8A%A5%E5%91%8A%27%28%2A%29%21");
  });
});
