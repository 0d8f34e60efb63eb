import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalCloud, type LocalCloud } from "../../local-cloud/server.js";
import { tos } from "./client.js";

let cloud: LocalCloud;
beforeAll(async () => {
  cloud = await startLocalCloud({ transitionMs: 100 });
});
afterAll(() => cloud.close());

const BUCKET = "todo-api-dev-backups-0a1b2c3d";

describe("local cloud: TOS protocol", () => {
  it("refuses an unsigned request and an OpenAPI-style signature, in TOS's error shape", async () => {
    const none = await tos(cloud.url, "GET", "", { authorization: null });
    expect(none.status).toBe(401);
    expect(none.body).toMatchObject({ Code: "AccessDenied" });
    expect(none.body.RequestId).toMatch(/^[0-9A-F]{32}$/);
    const wrong = await tos(cloud.url, "GET", "", {
      authorization: `HMAC-SHA256 Credential=AK/20261130/cn-beijing/tos/request, SignedHeaders=host;x-tos-date, Signature=${"a".repeat(64)}`,
    });
    expect(wrong.body.Code).toBe("SignatureDoesNotMatch");
  });

  it("creates a bucket with the provider's headers, lists it with its region and answers HEAD", async () => {
    expect((await tos(cloud.url, "PUT", "Bad_Name")).body.Code).toBe("InvalidBucketName");
    const created = await tos(cloud.url, "PUT", BUCKET, {
      headers: { "x-tos-acl": "private", "x-tos-storage-class": "STANDARD", "x-tos-project-name": "default" },
    });
    expect(created.status).toBe(200);
    expect((await tos(cloud.url, "PUT", BUCKET)).body.Code).toBe("BucketAlreadyOwnedByYou");
    const listed = await tos(cloud.url, "GET", "");
    expect(listed.body.Buckets).toEqual([
      expect.objectContaining({ Name: BUCKET, Location: "cn-beijing", ProjectName: "default" }),
    ]);
    const head = await tos(cloud.url, "HEAD", BUCKET);
    expect(head.headers.get("x-tos-storage-class")).toBe("STANDARD");
    expect((await tos(cloud.url, "HEAD", "no-such-bucket")).status).toBe(404);
    const acl = await tos(cloud.url, "GET", BUCKET, { sub: "acl" });
    expect(acl.body.Grants).toEqual([
      { Grantee: { ID: acl.body.Owner.ID, Type: "CanonicalUser" }, Permission: "FULL_CONTROL" },
    ]);
  });

  it("keeps tags (checking Content-MD5) and answers NoSuchTagSet when there are none", async () => {
    expect((await tos(cloud.url, "GET", BUCKET, { sub: "tagging" })).body.Code).toBe("NoSuchTagSet");
    const tags = { TagSet: { Tags: [{ Key: "app", Value: "todo-api" }] } };
    expect((await tos(cloud.url, "PUT", BUCKET, { sub: "tagging", body: tags })).status).toBe(200);
    expect((await tos(cloud.url, "GET", BUCKET, { sub: "tagging" })).body).toEqual(tags);
    const bad = await tos(cloud.url, "PUT", BUCKET, {
      sub: "tagging",
      raw: JSON.stringify(tags),
      headers: { "Content-MD5": "AAAAAAAAAAAAAAAAAAAAAA==", "Content-Type": "application/json" },
    });
    expect(bad.body.Code).toBe("InvalidDigest");
  });

  it("versioning: never enabled reads as an empty status, then Enabled; an unknown status is refused", async () => {
    expect((await tos(cloud.url, "GET", BUCKET, { sub: "versioning" })).body).toEqual({ Status: "" });
    expect((await tos(cloud.url, "PUT", BUCKET, { sub: "versioning", body: { Status: "On" } })).body.Code).toBe(
      "InvalidArgument",
    );
    expect((await tos(cloud.url, "PUT", BUCKET, { sub: "versioning", body: { Status: "Enabled" } })).status).toBe(200);
    expect((await tos(cloud.url, "GET", BUCKET, { sub: "versioning" })).body).toEqual({ Status: "Enabled" });
  });

  it("lifecycle: validates rules, reads back the provider's NonCurrent... fields under TOS's Noncurrent... names, deletes", async () => {
    expect((await tos(cloud.url, "GET", BUCKET, { sub: "lifecycle" })).body.Code).toBe("NoSuchLifecycleConfiguration");
    const zeroDays = { Rules: [{ ID: "x", Status: "Enabled", Prefix: "postgres/", Expiration: { Days: 0 } }] };
    expect((await tos(cloud.url, "PUT", BUCKET, { sub: "lifecycle", body: zeroDays })).body.Code).toBe(
      "InvalidArgument",
    );
    const rules = {
      Rules: [
        {
          ID: "expire-backups",
          Status: "Enabled",
          Prefix: "postgres/",
          Expiration: { Days: 30 },
          AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
        },
        {
          ID: "old-versions",
          Status: "Enabled",
          Prefix: "postgres/",
          NonCurrentVersionExpiration: { NonCurrentDays: 7 },
        },
      ],
    };
    expect((await tos(cloud.url, "PUT", BUCKET, { sub: "lifecycle", body: rules })).status).toBe(200);
    const read = await tos(cloud.url, "GET", BUCKET, { sub: "lifecycle" });
    expect(read.body.Rules[1]).toEqual({
      ID: "old-versions",
      Status: "Enabled",
      Prefix: "postgres/",
      NoncurrentVersionExpiration: { NoncurrentDays: 7 },
    });
    expect((await tos(cloud.url, "DELETE", BUCKET, { sub: "lifecycle" })).status).toBe(204);
    expect((await tos(cloud.url, "GET", BUCKET, { sub: "lifecycle" })).status).toBe(404);
  });

  it("refuses to delete a bucket that holds objects (BucketNotEmpty), deletes it once empty", async () => {
    expect((await tos(cloud.url, "PUT", BUCKET, { key: "postgres/2026-11-30.dump", raw: "dump" })).status).toBe(200);
    const refused = await tos(cloud.url, "DELETE", BUCKET);
    expect(refused.status).toBe(409);
    expect(refused.body.Code).toBe("BucketNotEmpty");
    expect((await tos(cloud.url, "DELETE", BUCKET, { key: "postgres/2026-11-30.dump" })).status).toBe(204);
    expect((await tos(cloud.url, "DELETE", BUCKET)).status).toBe(204);
    expect((await tos(cloud.url, "GET", BUCKET, { sub: "acl" })).body.Code).toBe("NoSuchBucket");
    expect(cloud.log.calls.filter((c) => c.protocol === "tos").map((c) => c.action)).toContain("PutBucketLifecycle");
  });
});
