import { mkdtempSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { ObjectStore } from "../../app/files/object-store.js";
import { createTosObjectStore, ObjectStoreUnavailableError } from "../../app/files/tos-object-store.js";
import type { Credentials } from "../../local-cloud/services/ecs/metadata.js";
import { type S3StandIn, startS3StandIn } from "../../local-cloud/services/tos/s3-data-plane.js";

// The store on the official SDK against local-cloud's TOS data plane, over real HTTP: the stand-in
// verifies every TOS4-HMAC-SHA256 signature (header and presigned URL), so a URL the SDK signed
// wrongly, or one a client tampered with, fails here.

const BUCKET = "todo-api-dev-files-0a1b2c3d";
const REGION = "cn-beijing";
const first: Credentials = {
  AccessKeyId: "AKLTfilesone",
  SecretAccessKey: "secret-one-1",
  SessionToken: "token-one-1",
};
const second: Credentials = {
  AccessKeyId: "AKLTfilestwo",
  SecretAccessKey: "secret-two-2",
  SessionToken: "token-two-2",
};

let dir: string;
let credentialsFile: string;
let s3: S3StandIn;
let roleCreds: Credentials;
let clockShiftMs = 0;
let store: ObjectStore;

/** Writes the credentials file as the refresher does: a new file renamed into place. */
function writeCredentials(c: Credentials, expiresInMs = 3600_000) {
  const tmp = `${credentialsFile}.tmp`;
  writeFileSync(tmp, JSON.stringify({ ...c, ExpiredTime: new Date(Date.now() + expiresInMs).toISOString() }));
  renameSync(tmp, credentialsFile);
}

const storeFor = (endpoint: string) =>
  createTosObjectStore({ bucket: BUCKET, region: REGION, endpoint, keyPrefix: "files/", credentialsFile });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "tos-store-"));
  credentialsFile = join(dir, "tos-credentials.json");
  s3 = await startS3StandIn({
    bucket: BUCKET,
    region: REGION,
    creds: () => roleCreds,
    now: () => new Date(Date.now() + clockShiftMs),
  });
});
afterAll(async () => {
  await s3.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  roleCreds = first;
  clockShiftMs = 0;
  writeCredentials(first);
  store = storeFor(s3.url);
});

const put = (url: string, body: string, headers: Record<string, string>) =>
  fetch(url, { method: "PUT", body, headers });

async function upload(key: string, body: string, contentType = "image/png") {
  const up = await store.presignUpload({ key, contentType, size: body.length, expiresInSeconds: 900 });
  return { up, res: await put(up.url, body, up.headers) };
}

/** A URL with one query parameter replaced (or removed with null). */
function withParam(url: string, name: string, value: string | null): string {
  const u = new URL(url);
  if (value === null) u.searchParams.delete(name);
  else u.searchParams.set(name, value);
  return u.toString();
}

describe("TOS object store: presigned upload, HEAD, download and delete", () => {
  it("uploads through a presigned PUT under the key prefix, reports the size, serves it with the filename, deletes it", async () => {
    const { up, res } = await upload("a/1", "PNG bytes");
    expect(res.status).toBe(200);
    expect(up).toMatchObject({ method: "PUT", headers: { "Content-Type": "image/png" } });
    const query = new URL(up.url).searchParams;
    expect(query.get("X-Tos-Algorithm")).toBe("TOS4-HMAC-SHA256");
    expect(query.get("X-Tos-Security-Token")).toBe(first.SessionToken);
    expect(query.get("X-Tos-Expires")).toBe("900");
    expect(up.expiresAt.getTime() - Date.now()).toBeLessThanOrEqual(900_000);
    expect(s3.objects.get("files/a/1")?.toString()).toBe("PNG bytes");

    expect(await store.head("a/1")).toEqual({ size: 9 });
    const down = await store.presignDownload({
      key: "a/1",
      filename: "holiday.png",
      contentType: "image/png",
      expiresInSeconds: 300,
    });
    expect(down).toMatchObject({ method: "GET", headers: {} });
    const got = await fetch(down.url);
    expect(got.status).toBe(200);
    expect(await got.text()).toBe("PNG bytes");
    expect(got.headers.get("content-disposition")).toBe(
      `attachment; filename="holiday.png"; filename*=UTF-8''holiday.png`,
    );
    expect(got.headers.get("content-type")).toBe("image/png");

    await store.delete("a/1");
    expect(s3.objects.has("files/a/1")).toBe(false);
    expect(await store.head("a/1")).toBeNull();
    await expect(store.delete("a/1")).resolves.toBeUndefined(); // absent is success: deletions are retried
  });

  it("a download carries a non-ASCII filename in RFC 5987 form and the declared type, whatever was uploaded", async () => {
    await upload("a/2", "%PDF-1.7", "text/html");
    const filename = "报告 (final) 'v2' \"q\".pdf";
    const down = await store.presignDownload({
      key: "a/2",
      filename,
      contentType: "application/pdf",
      expiresInSeconds: 60,
    });
    const got = await fetch(down.url);
    expect(got.status).toBe(200);
    expect(got.headers.get("content-type")).toBe("application/pdf");
    const disposition = got.headers.get("content-disposition") ?? "";
    expect(disposition).toMatch(/^attachment; filename="[\x20-\x7e]+"; filename\*=UTF-8''[A-Za-z0-9%!#$&+\-.^_`|~]+$/);
    expect(decodeURIComponent(disposition.split("UTF-8''")[1]!)).toBe(filename);
  });

  it("signs the production shape too: https://<bucket>.<endpoint>/<key>, verified with that Host", async () => {
    const production = storeFor("tos-cn-beijing.volces.com");
    const up = await production.presignUpload({ key: "v/1", contentType: "image/png", size: 3, expiresInSeconds: 60 });
    const url = new URL(up.url);
    expect(url.protocol).toBe("https:");
    expect(url.host).toBe(`${BUCKET}.tos-cn-beijing.volces.com`);
    expect(url.pathname).toBe("/files/v/1");
    // Sent to the stand-in under the host name the URL was signed for.
    const sendTo = (target: URL, host: string) =>
      new Promise<number>((resolve, reject) => {
        const stand = new URL(s3.url);
        const req = request(
          {
            host: stand.hostname,
            port: stand.port,
            method: "PUT",
            path: target.pathname + target.search,
            headers: { host, "content-type": "image/png", "content-length": 3 },
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on("error", reject);
        req.end("abc");
      });
    expect(await sendTo(url, `${BUCKET}.tos-cn-beijing.volces.com`)).toBe(200);
    expect(s3.objects.get("files/v/1")?.toString()).toBe("abc");
    expect(await sendTo(url, `other-bucket.tos-cn-beijing.volces.com`)).toBe(403);
  });
});

describe("TOS object store: what the storage refuses", () => {
  async function refused(res: Response, code: string) {
    expect(res.status).toBe(403);
    const body = (await res.json()) as { RequestId: string };
    expect(body).toMatchObject({ Code: code, HostId: expect.any(String) });
    expect(body.RequestId).toMatch(/^[0-9A-F]{32}$/);
  }

  it("a wrong signature", async () => {
    const up = await store.presignUpload({ key: "r/1", contentType: "image/png", size: 1, expiresInSeconds: 60 });
    const sig = new URL(up.url).searchParams.get("X-Tos-Signature")!;
    const flipped = sig.slice(0, -1) + (sig.endsWith("0") ? "1" : "0");
    await refused(await put(withParam(up.url, "X-Tos-Signature", flipped), "x", up.headers), "SignatureDoesNotMatch");
    expect(s3.objects.has("files/r/1")).toBe(false);
  });

  it("a tampered key: the URL for one key cannot write another", async () => {
    const up = await store.presignUpload({ key: "r/2", contentType: "image/png", size: 1, expiresInSeconds: 60 });
    const other = up.url.replace("/files/r/2?", "/files/r/3?");
    expect(other).not.toBe(up.url);
    await refused(await put(other, "x", up.headers), "SignatureDoesNotMatch");
    expect(s3.objects.has("files/r/2") || s3.objects.has("files/r/3")).toBe(false);
    // Nor change what a download URL answers with.
    await upload("r/4", "x");
    const down = await store.presignDownload({
      key: "r/4",
      filename: "a.png",
      contentType: "image/png",
      expiresInSeconds: 60,
    });
    await refused(await fetch(withParam(down.url, "response-content-type", "text/html")), "SignatureDoesNotMatch");
  });

  it("an expired URL, by the storage's clock; the same URL works until then", async () => {
    const up = await store.presignUpload({ key: "r/5", contentType: "image/png", size: 1, expiresInSeconds: 60 });
    clockShiftMs = 61_000;
    await refused(await put(up.url, "x", up.headers), "AccessDenied");
    clockShiftMs = 55_000;
    expect((await put(up.url, "x", up.headers)).status).toBe(200);
  });

  it("a wrong or missing security token", async () => {
    const up = await store.presignUpload({ key: "r/6", contentType: "image/png", size: 1, expiresInSeconds: 60 });
    await refused(
      await put(withParam(up.url, "X-Tos-Security-Token", "token-other"), "x", up.headers),
      "InvalidSecurityToken",
    );
    await refused(await put(withParam(up.url, "X-Tos-Security-Token", null), "x", up.headers), "InvalidSecurityToken");
    expect(s3.objects.has("files/r/6")).toBe(false);
  });
});

describe("TOS object store: credentials", () => {
  it("picks up rotated credentials from the file; a URL signed with the old ones stops working", async () => {
    const { up } = await upload("c/1", "one");
    expect(await store.head("c/1")).toEqual({ size: 3 });
    roleCreds = second;
    writeCredentials(second);
    expect(await store.head("c/1")).toEqual({ size: 3 });
    const after = await store.presignUpload({ key: "c/2", contentType: "image/png", size: 1, expiresInSeconds: 60 });
    expect(new URL(after.url).searchParams.get("X-Tos-Security-Token")).toBe(second.SessionToken);
    expect((await put(up.url, "one", up.headers)).status).toBe(403);
  });

  it("re-reads a file that looks unchanged once the credentials in hand are about to expire", async () => {
    writeCredentials(first, 120_000);
    expect(await store.head("none")).toBeNull();
    const before = statSync(credentialsFile);
    // Same inode, size and mtime: only the approaching expiry can make the store read it again.
    writeFileSync(
      credentialsFile,
      JSON.stringify({ ...second, ExpiredTime: new Date(Date.now() + 120_000).toISOString() }),
    );
    utimesSync(credentialsFile, before.atime, before.mtime);
    expect(statSync(credentialsFile).size).toBe(before.size);
    roleCreds = second;
    expect(await store.head("none")).toBeNull();
  });

  it("URLs live no longer than the credentials inside them", async () => {
    writeCredentials(first, 120_000);
    const up = await store.presignUpload({ key: "c/3", contentType: "image/png", size: 1, expiresInSeconds: 900 });
    expect(Number(new URL(up.url).searchParams.get("X-Tos-Expires"))).toBeLessThanOrEqual(120);
    expect(up.expiresAt.getTime()).toBeLessThanOrEqual(Date.now() + 120_000);
  });

  it("a missing, expired or malformed file is a clear ObjectStoreUnavailableError, never a secret in it", async () => {
    const attempts = () => [
      () => store.head("k"),
      () => store.delete("k"),
      () => store.presignUpload({ key: "k", contentType: "image/png", size: 1, expiresInSeconds: 60 }),
      () => store.presignDownload({ key: "k", filename: "a.png", contentType: "image/png", expiresInSeconds: 60 }),
    ];
    rmSync(credentialsFile);
    for (const attempt of attempts())
      await expect(attempt()).rejects.toThrow(/cannot read .*tos-credentials\.json \(ENOENT\)/);
    writeCredentials(first, -1000);
    for (const attempt of attempts()) await expect(attempt()).rejects.toThrow(/expired at/);
    writeFileSync(credentialsFile, `{"AccessKeyId":"AKLT","SecretAccessKey":"${first.SecretAccessKey}"`);
    const err = await store.head("k").catch((e) => e);
    expect(err).toBeInstanceOf(ObjectStoreUnavailableError);
    expect(err.message).toMatch(/is not a JSON object/);
    expect(err.message).not.toContain(first.SecretAccessKey);
    writeFileSync(
      credentialsFile,
      JSON.stringify({ AccessKeyId: "AKLT", SecretAccessKey: "s", ExpiredTime: "2099-01-01T00:00:00Z" }),
    );
    await expect(store.head("k")).rejects.toThrow(/has no SessionToken/);
    writeFileSync(credentialsFile, JSON.stringify({ ...first, ExpiredTime: "soon" }));
    await expect(store.head("k")).rejects.toThrow(/ExpiredTime that is not a date/);
  });

  it("storage refusing or unreachable is an ObjectStoreUnavailableError without the credentials in it", async () => {
    roleCreds = second; // the role's credentials moved on; the file still holds the first ones
    const head = await store.head("k").catch((e) => e);
    expect(head).toBeInstanceOf(ObjectStoreUnavailableError);
    // A HEAD answer has no body: the status and request id are all there is.
    expect(head.message).toMatch(/^object storage HEAD failed: 403 \(request [0-9A-F]{32}\)$/);
    const del = await store.delete("k").catch((e) => e);
    expect(del).toBeInstanceOf(ObjectStoreUnavailableError);
    expect(del.message).toMatch(/^object storage DELETE failed: 403 InvalidAccessKeyId \(request [0-9A-F]{32}\)$/);
    const unreachable = await storeFor("http://127.0.0.1:9")
      .head("k")
      .catch((e) => e);
    expect(unreachable).toBeInstanceOf(ObjectStoreUnavailableError);
    for (const secret of [first.SecretAccessKey, first.SessionToken]) expect(unreachable.message).not.toContain(secret);
  });
});
