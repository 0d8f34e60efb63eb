import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError, DEFAULT_ALLOWED_TYPES, loadConfig } from "../../app/config.js";
import { LocalObjectStore } from "../../app/files/local-object-store.js";
import { client, startTestApp } from "../../harness/support/app-harness.js";
import { filesSuite, newAccount, PNG, readyAttachment, startUpload, todoOf, upload } from "../support/files.js";

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "todo-api-files-config-"));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const PG = "postgres://todo@127.0.0.1:5432/todo";

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error("expected a ConfigError");
}

describe("FILES_* settings", () => {
  it("default to the local store on the embedded database and to off on PostgreSQL, with the contract's limits", () => {
    const dataDir = tempDir();
    const local = loadConfig({ DATA_DIR: dataDir });
    expect(local.files).toMatchObject({
      storage: "local",
      limits: {
        maxBytes: 10 * 1024 * 1024,
        quotaBytes: 100 * 1024 * 1024,
        maxPerTodo: 20,
        allowedTypes: DEFAULT_ALLOWED_TYPES,
      },
      local: { dir: join(dataDir, "files") },
    });
    expect(loadConfig({ DATA_DIR: tempDir(), DATABASE_URL: PG }).files.storage).toBe("off");
    expect(loadConfig({ DATA_DIR: tempDir(), DATABASE_URL: PG, FILES_STORAGE: "local" }).files.storage).toBe("local");
  });

  it("keep the local store's signing key in DATA_DIR, readable by the owner only, across restarts", () => {
    const dataDir = tempDir();
    const first = loadConfig({ DATA_DIR: dataDir });
    const again = loadConfig({ DATA_DIR: dataDir });
    if (first.files.storage !== "local" || again.files.storage !== "local") throw new Error("expected local");
    expect(Buffer.from(again.files.local.signingKey).equals(Buffer.from(first.files.local.signingKey))).toBe(true);
    const file = join(dataDir, "files-signing-key");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, "utf8").trim().length).toBeGreaterThanOrEqual(32);
    // Off: no key is made.
    const off = tempDir();
    loadConfig({ DATA_DIR: off, DATABASE_URL: PG });
    expect(() => statSync(join(off, "files-signing-key"))).toThrow();
  });

  it("tos needs its bucket, region, endpoint and credentials file, each named with how to fix it", () => {
    const found = problems({ DATA_DIR: tempDir(), FILES_STORAGE: "tos" });
    for (const key of ["FILES_TOS_BUCKET", "FILES_TOS_REGION", "FILES_TOS_ENDPOINT", "FILES_CREDENTIALS_FILE"]) {
      expect(
        found.some((p) => p.startsWith(`${key}: required when FILES_STORAGE=tos`)),
        key,
      ).toBe(true);
    }
    const tos = loadConfig({
      DATA_DIR: tempDir(),
      FILES_STORAGE: "tos",
      FILES_TOS_BUCKET: "todo-prod-files",
      FILES_TOS_REGION: "cn-beijing",
      FILES_TOS_ENDPOINT: "tos-cn-beijing.volces.com",
      FILES_CREDENTIALS_FILE: "/run/todo-api/tos-credentials.json",
    });
    expect(tos.files).toMatchObject({
      storage: "tos",
      tos: { bucket: "todo-prod-files", keyPrefix: "files/", credentialsFile: "/run/todo-api/tos-credentials.json" },
    });
  });

  it("refuse values that make no sense, each with a problem line", () => {
    const found = problems({
      DATA_DIR: tempDir(),
      FILES_STORAGE: "s3",
      FILES_MAX_BYTES: "ten",
      FILES_ALLOWED_TYPES: "image/png,Text",
      FILES_QUOTA_BYTES: "-1",
      FILES_MAX_PER_TODO: "0",
      FILES_TOS_KEY_PREFIX: "/abs",
      FILES_TOS_BUCKET: "Bad_Bucket",
      FILES_CREDENTIALS_FILE: "relative.json",
    });
    for (const key of [
      "FILES_STORAGE",
      "FILES_MAX_BYTES",
      "FILES_ALLOWED_TYPES",
      "FILES_QUOTA_BYTES",
      "FILES_MAX_PER_TODO",
      "FILES_TOS_KEY_PREFIX",
      "FILES_TOS_BUCKET",
      "FILES_CREDENTIALS_FILE",
    ]) {
      expect(
        found.some((p) => p.startsWith(`${key}:`)),
        key,
      ).toBe(true);
    }
  });

  it("accept media type families", () => {
    const c = loadConfig({ DATA_DIR: tempDir(), FILES_ALLOWED_TYPES: "image/*, application/pdf" });
    expect(c.files.limits.allowedTypes).toEqual(["image/*", "application/pdf"]);
  });
});

describe("with files off", () => {
  const off = filesSuite(() => ({ env: { FILES_STORAGE: "off" } }));

  it("every attachment route answers 404 files_disabled, todos carry no attachments, and the store's routes are absent", async () => {
    const me = await newAccount(off.api);
    const todo = await todoOf(off.api, me);
    const created = await startUpload(off.api, me, todo.id);
    expect(created.status).toBe(404);
    expect(created.body.error.code).toBe("files_disabled");
    const id = "0b8f5a52-3c8e-4d1c-9b7e-2f0a6c1d9e41";
    for (const res of [
      await off.api.post(`/api/v1/attachments/${id}/complete`, { token: me.access }),
      await off.api.get(`/api/v1/attachments/${id}/content`, { token: me.access }),
      await off.api.delete(`/api/v1/attachments/${id}`, { token: me.access }),
    ]) {
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe("files_disabled");
    }
    const read = await off.api.get(`/api/v1/todos/${todo.id}`, { token: me.access });
    expect(read.body.attachments).toEqual([]);
    expect((await off.api.put(`/local-files/${"x".repeat(32)}?expires=1&size=1&sig=x`, { body: "x" })).status).toBe(
      404,
    );
  });
});

describe("an upload URL used after it expired", () => {
  let now = Date.now();
  const store = new LocalObjectStore(
    join(mkdtempSync(join(tmpdir(), "todo-files-clock-")), "files"),
    new TextEncoder().encode("test-only-files-signing-key-0123456789"),
    () => now,
  );
  const suite = filesSuite(() => ({ fileStore: store }));

  it("is refused with 403, and a download URL likewise; a fresh one works", async () => {
    const me = await newAccount(suite.api);
    const todo = await todoOf(suite.api, me);
    const created = await startUpload(suite.api, me, todo.id);
    expect(Date.parse(created.body.upload.expires_at)).toBe(Math.floor(now / 1000) * 1000 + 900_000);
    now += 901_000;
    const late = await upload(created.body.upload, PNG);
    expect(late.status).toBe(403);
    expect(((await late.json()) as { error: { message: string } }).error.message).toMatch(/expired/);
    now = Date.now();
    const fresh = await startUpload(suite.api, me, todo.id);
    expect((await upload(fresh.body.upload, PNG)).status).toBe(200);
    const done = await suite.api.post(`/api/v1/attachments/${fresh.body.attachment.id}/complete`, { token: me.access });
    expect(done.status).toBe(200);
    const content = await fetch(`${suite.app.url}/api/v1/attachments/${done.body.id}/content`, {
      headers: { authorization: `Bearer ${me.access}` },
      redirect: "manual",
    });
    const location = content.headers.get("location")!;
    expect((await fetch(location)).status).toBe(200);
    now += 301_000;
    expect((await fetch(location)).status).toBe(403);
  });
});

describe("on the embedded database, as `npm start` runs", () => {
  it("files work with no setting: the local store under DATA_DIR, the janitor included", async () => {
    const app = await startTestApp({ fileJanitorIntervalMs: 0 });
    try {
      expect(app.server.database.kind).toBe("pglite");
      const api = client(app.url);
      const me = await newAccount(api);
      const todo = await todoOf(api, me);
      const ready = await readyAttachment(api, me, todo.id);
      expect(readdirSync(join(app.dataDir, "files"))).toHaveLength(1);
      const read = await api.get(`/api/v1/todos/${todo.id}`, { token: me.access });
      expect(read.body).toMatchObject({ version: 2, attachments: [{ id: ready.id, status: "ready" }] });
      const changes = await api.get("/api/v1/todos/changes", { token: me.access });
      expect(changes.body.changes[0].todo.attachments).toHaveLength(1);
      expect((await api.delete(`/api/v1/todos/${todo.id}`, { token: me.access })).status).toBe(204);
      await app.server.fileJanitor.runOnce();
      // The object went at once; its row waits for the upload URL to expire, then the next run ends it.
      expect(readdirSync(join(app.dataDir, "files")).filter((f) => !f.startsWith("."))).toEqual([]);
    } finally {
      await app.close();
    }
  });
});
