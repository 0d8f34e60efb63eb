import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalCloud, type LocalCloud } from "../../local-cloud/server.js";
import { startS3StandIn } from "../../local-cloud/services/tos/s3-data-plane.js";
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

  it("a versioned bucket keeps versions and delete markers: not empty until each is deleted by version id", async () => {
    const key = "postgres/2026-11-30.dump";
    const first = await tos(cloud.url, "PUT", BUCKET, { key, raw: "dump 1" });
    const second = await tos(cloud.url, "PUT", BUCKET, { key, raw: "dump 2" });
    const [v1, v2] = [first.headers.get("x-tos-version-id"), second.headers.get("x-tos-version-id")];
    expect(v1).toMatch(/^[0-9a-f]{24}$/);
    expect(v2).not.toBe(v1);
    // A delete without a version id only hides the object behind a delete marker.
    const deleted = await tos(cloud.url, "DELETE", BUCKET, { key });
    expect(deleted.status).toBe(204);
    expect(deleted.headers.get("x-tos-delete-marker")).toBe("true");
    const marker = deleted.headers.get("x-tos-version-id");
    expect((await tos(cloud.url, "HEAD", BUCKET, { key })).status).toBe(404);
    expect((await tos(cloud.url, "HEAD", BUCKET, { key, query: { versionId: v1! } })).status).toBe(200);
    expect((await tos(cloud.url, "GET", BUCKET)).body.Contents).toEqual([]);
    const versions = await tos(cloud.url, "GET", BUCKET, { sub: "versions" });
    expect(versions.body.Versions.map((v: any) => [v.VersionId, v.IsLatest])).toEqual([
      [v2, false],
      [v1, false],
    ]);
    expect(versions.body.DeleteMarkers).toEqual([
      expect.objectContaining({ Key: key, VersionId: marker, IsLatest: true }),
    ]);
    const refused = await tos(cloud.url, "DELETE", BUCKET);
    expect(refused.status).toBe(409);
    expect(refused.body.Code).toBe("BucketNotEmpty");
    // Deleting the versions but not the delete marker still leaves the bucket not empty.
    for (const id of [v1!, v2!])
      expect((await tos(cloud.url, "DELETE", BUCKET, { key, query: { versionId: id } })).status).toBe(204);
    expect((await tos(cloud.url, "DELETE", BUCKET)).body.Code).toBe("BucketNotEmpty");
    const gone = await tos(cloud.url, "DELETE", BUCKET, { key, query: { versionId: marker! } });
    expect(gone.headers.get("x-tos-delete-marker")).toBe("true");
    expect((await tos(cloud.url, "GET", BUCKET, { sub: "versions" })).body).toMatchObject({
      Versions: [],
      DeleteMarkers: [],
    });
    expect((await tos(cloud.url, "DELETE", BUCKET)).status).toBe(204);
    expect((await tos(cloud.url, "GET", BUCKET, { sub: "acl" })).body.Code).toBe("NoSuchBucket");
    expect(cloud.log.calls.filter((c) => c.protocol === "tos").map((c) => c.action)).toContain("PutBucketLifecycle");
    expect(
      cloud.log.calls.find((c) => c.action === "DeleteObject" && (c.params as any).versionId === marker),
    ).toBeDefined();
  });

  it("a bucket never versioned keeps one version of a key: a delete removes it, and the bucket can go", async () => {
    const plain = "todo-api-dev-plain-0a1b2c3d";
    await tos(cloud.url, "PUT", plain);
    const put = await tos(cloud.url, "PUT", plain, { key: "a", raw: "x" });
    expect(put.headers.get("x-tos-version-id")).toBeNull();
    await tos(cloud.url, "PUT", plain, { key: "a", raw: "y" });
    expect((await tos(cloud.url, "GET", plain, { sub: "versions" })).body.Versions).toEqual([
      expect.objectContaining({ Key: "a", VersionId: "null", IsLatest: true, Size: 1 }),
    ]);
    expect((await tos(cloud.url, "DELETE", plain)).body.Code).toBe("BucketNotEmpty");
    expect((await tos(cloud.url, "DELETE", plain, { key: "a" })).headers.get("x-tos-delete-marker")).toBeNull();
    expect((await tos(cloud.url, "DELETE", plain)).status).toBe(204);
  });
});

describe("local cloud: TOS lifecycle field names, both answers", () => {
  const rule = {
    ID: "expire-backups",
    Status: "Enabled",
    Prefix: "postgres/",
    Expiration: { Days: 14 },
    NonCurrentVersionExpiration: { NonCurrentDays: 14 },
  };

  for (const [answer, expected] of [
    ["case-folded", { NoncurrentVersionExpiration: { NoncurrentDays: 14 } }],
    ["exact", {}],
  ] as const) {
    it(`${answer}: the provider's NonCurrent... names are ${answer === "exact" ? "ignored" : "read back as TOS's Noncurrent..."}`, async () => {
      const local = await startLocalCloud({ transitionMs: 100, answers: { lifecycleFieldNames: answer } });
      try {
        await tos(local.url, "PUT", BUCKET);
        expect((await tos(local.url, "PUT", BUCKET, { sub: "lifecycle", body: { Rules: [rule] } })).status).toBe(200);
        const [read] = (await tos(local.url, "GET", BUCKET, { sub: "lifecycle" })).body.Rules;
        expect(read).toEqual({
          ID: "expire-backups",
          Status: "Enabled",
          Prefix: "postgres/",
          Expiration: { Days: 14 },
          ...expected,
        });
      } finally {
        await local.close();
      }
    });
  }
});

describe("local cloud: one TOS behind both protocols", () => {
  it("the S3-compatible data plane serves the emulator's bucket: objects, versions and delete markers are shared", async () => {
    const local = await startLocalCloud({ transitionMs: 100 });
    const s3 = await startS3StandIn({
      bucket: BUCKET,
      region: "cn-beijing",
      creds: () => ({ AccessKeyId: "AKLT", SecretAccessKey: "s", SessionToken: "t" }),
      store: local.store,
    });
    try {
      // The data plane created the bucket in the emulator's store; versioning through TOS applies to it.
      expect((await tos(local.url, "HEAD", BUCKET)).status).toBe(200);
      await tos(local.url, "PUT", BUCKET, { sub: "versioning", body: { Status: "Enabled" } });
      s3.objects.set("postgres/a.dump", Buffer.from("PGDMP a"));
      expect((await tos(local.url, "GET", BUCKET)).body.Contents.map((c: any) => c.Key)).toEqual(["postgres/a.dump"]);
      await tos(local.url, "PUT", BUCKET, { key: "postgres/b.dump", raw: "PGDMP b" });
      expect(s3.objects.get("postgres/b.dump")?.toString()).toBe("PGDMP b");
      expect([...s3.objects.keys()]).toEqual(["postgres/a.dump", "postgres/b.dump"]);
      // A delete through the data plane leaves a delete marker the TOS protocol lists, and the bucket not empty.
      expect(s3.objects.delete("postgres/a.dump")).toBe(true);
      expect(s3.objects.has("postgres/a.dump")).toBe(false);
      const versions = (await tos(local.url, "GET", BUCKET, { sub: "versions" })).body;
      expect(versions.DeleteMarkers.map((d: any) => d.Key)).toEqual(["postgres/a.dump"]);
      expect((await tos(local.url, "DELETE", BUCKET)).body.Code).toBe("BucketNotEmpty");
    } finally {
      await s3.close();
      await local.close();
    }
  });
});
