import { describe, expect, it } from "vitest";

/** The kit's signer (a plain .mjs the server runs as it is; typed here for the test). */
interface Signer {
  flatten(params: unknown): [string, string][];
  canonicalQuery(pairs: [string, string][]): string;
  signRequest(r: {
    url: URL;
    service: string;
    region: string;
    creds: { id: string; secret: string; token?: string };
    now: Date;
  }): Record<string, string>;
}
const kitSigner = "../../cloud-init/lib/volc-openapi.mjs";
const { canonicalQuery, flatten, signRequest } = (await import(kitSigner)) as Signer;

// The kit's OpenAPI signer against signatures computed by Volcengine's official Go signer
// (github.com/volcengine/volc-sdk-golang v1.0.23, base.Credentials.Sign, the signer
// volcengine-go-sdk v1.0.75 uses), called with these credentials, these URLs and X-Date fixed at
// 20261206T191500Z. The stand-in does not recompute signatures, so these vectors are what holds
// the algorithm to Volcengine's: the canonical query (sorted, RFC 3986, "+" as %20), the signed
// headers (X-Security-Token among them when there is a session token), the Host without a
// default port but with any other, and the key derivation (date, region, service, "request").

const SECRET = "ZXhhbXBsZVNlY3JldEFjY2Vzc0tleQ==";
const now = new Date("2026-12-06T19:15:00Z");
const creds = (token?: string) => ({ id: "AKLTexampleAccessKeyId", secret: SECRET, token });
const sign = (url: string, service: string, region: string, token?: string) =>
  signRequest({ url: new URL(url), service, region, creds: creds(token), now });

const GO_SDK = {
  describeScalingInstances:
    "HMAC-SHA256 Credential=AKLTexampleAccessKeyId/20261206/cn-beijing/auto_scaling/request, SignedHeaders=content-type;host;x-content-sha256;x-date;x-security-token, Signature=4e82a6384b13db5cadc27cb73f6c39a20591c9357c7c29a27a68df30529e36d6",
  associateInstancesIamRole:
    "HMAC-SHA256 Credential=AKLTexampleAccessKeyId/20261206/cn-beijing/ecs/request, SignedHeaders=content-type;host;x-content-sha256;x-date, Signature=c52ae5e9489e113ea60faf6391be9a13e0e267a0fc6a5d90c98e516a3c966973",
  completeOnAPort:
    "HMAC-SHA256 Credential=AKLTexampleAccessKeyId/20261206/cn-shanghai/auto_scaling/request, SignedHeaders=content-type;host;x-content-sha256;x-date;x-security-token, Signature=8a1af39570693ac6796270ff0ef6327405b7209a5de8037ffa39188918a00590",
};

const DESCRIBE =
  "https://open.volcengineapi.com/?Action=DescribeScalingInstances&Version=2020-01-01&ScalingGroupId=scg-ybv6b2kq4ygk8wdpvq1v&Status=Pending:Wait&PageSize=100";
const ASSOCIATE =
  "https://open.volcengineapi.com/?Action=AssociateInstancesIamRole&Version=2020-04-01&IamRoleName=todo-prod-files&InstanceIds.1=i-ybv6b2kq4ygk8wdpvq1w&InstanceIds.2=i-ybv6b2kq4ygk8wdpvq1x";
const COMPLETE =
  "http://127.0.0.1:43117/?Action=CompleteLifecycleActivity&Version=2020-01-01&LifecycleActivityId=la-1&LifecycleActivityPolicy=CONTINUE&Note=a b*c!'()~";

describe("the kit's Volcengine OpenAPI signer", () => {
  it("signs an Auto Scaling call with an STS session token as the Go SDK does, the token a signed header", () => {
    const h = sign(DESCRIBE, "auto_scaling", "cn-beijing", "STStoken/with+special=chars");
    expect(h.authorization).toBe(GO_SDK.describeScalingInstances);
    expect(h["x-security-token"]).toBe("STStoken/with+special=chars");
    expect(h["x-date"]).toBe("20261206T191500Z");
    expect(h["x-content-sha256"]).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });

  it("signs an ECS call with a list parameter and no session token as the Go SDK does", () => {
    const h = sign(ASSOCIATE, "ecs", "cn-beijing");
    expect(h.authorization).toBe(GO_SDK.associateInstancesIamRole);
    expect(h).not.toHaveProperty("x-security-token");
  });

  it("keeps a non-default port in the signed Host and escapes reserved characters as the Go SDK does", () => {
    expect(sign(COMPLETE, "auto_scaling", "cn-shanghai", "tok").authorization).toBe(GO_SDK.completeOnAPort);
    expect(sign(COMPLETE.replace(":43117", ":443"), "auto_scaling", "cn-shanghai", "tok").authorization).not.toBe(
      GO_SDK.completeOnAPort,
    );
  });

  it("changes with the secret, region, service and token, and not with the order of the parameters", () => {
    const base = sign(DESCRIBE, "auto_scaling", "cn-beijing", "t").authorization;
    expect(
      signRequest({
        url: new URL(DESCRIBE),
        service: "auto_scaling",
        region: "cn-beijing",
        now,
        creds: { ...creds("t"), secret: "other" },
      }).authorization,
    ).not.toBe(base);
    expect(sign(DESCRIBE, "auto_scaling", "cn-shanghai", "t").authorization).not.toBe(base);
    expect(sign(DESCRIBE, "ecs", "cn-beijing", "t").authorization).not.toBe(base);
    expect(sign(DESCRIBE, "auto_scaling", "cn-beijing", "u").authorization).not.toBe(base);
    // the same parameters in another order sign the same (the canonical query is sorted)
    const reordered = DESCRIBE.replace("&PageSize=100", "").replace("?Action", "?PageSize=100&Action");
    expect(sign(reordered, "auto_scaling", "cn-beijing", "t").authorization).toBe(base);
  });

  it("writes lists 1-based and sorts names in byte order, as the query protocol wants", () => {
    expect(flatten({ InstanceIds: ["i-a", "i-b"], Filter: { Name: "x" }, Skip: undefined })).toEqual([
      ["InstanceIds.1", "i-a"],
      ["InstanceIds.2", "i-b"],
      ["Filter.Name", "x"],
    ]);
    expect(
      canonicalQuery([
        ["b", "1"],
        ["Version", "v"],
        ["a", "x y"],
        ["Action", "A"],
      ]),
    ).toBe("Action=A&Version=v&a=x%20y&b=1");
  });
});
