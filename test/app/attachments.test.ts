import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { filesSuite, newAccount, PNG, readyAttachment, startUpload, todoOf, upload } from "../support/files.js";

/** The Files part of v1.2 over real HTTP, on PostgreSQL, with the local object store. */
const suite = filesSuite(() => ({
  env: { FILES_MAX_BYTES: "1000", FILES_MAX_PER_TODO: "3", FILES_QUOTA_BYTES: "2000" },
}));
const { api } = suite;
const objects = () => {
  const dir = join(suite.app.dataDir, "files");
  return existsSync(dir) ? readdirSync(dir).filter((f) => !f.startsWith(".")) : [];
};

describe("an attachment's life: create, upload, complete, download, delete", () => {
  it("walks the whole flow, and the todo's version and attachments follow it", async () => {
    const me = await newAccount(api);
    const todo = await todoOf(api, me);
    const created = await startUpload(api, me, todo.id, { filename: "Beleg März.png" });
    expect(created.status, created.text).toBe(201);
    const { attachment, upload: up } = created.body;
    expect(attachment).toMatchObject({
      todo_id: todo.id,
      filename: "Beleg März.png",
      status: "pending",
      size: PNG.length,
    });
    expect(created.headers.get("location")).toBe(`/api/v1/attachments/${attachment.id}/content`);
    expect(up.method).toBe("PUT");
    expect(up.headers).toEqual({ "Content-Type": "image/png" });
    expect(new URL(up.url).origin).toBe(suite.app.url);
    const lifetime = Date.parse(up.expires_at) - Date.now();
    expect(lifetime).toBeGreaterThan(0);
    expect(lifetime).toBeLessThanOrEqual(900_000);

    // A pending attachment is not part of the todo, and the todo did not change.
    let read = await api.get(`/api/v1/todos/${todo.id}`, { token: me.access });
    expect(read.body).toMatchObject({ version: 1, attachments: [] });

    const early = await api.post(`/api/v1/attachments/${attachment.id}/complete`, { token: me.access });
    expect(early.status).toBe(409);
    expect(early.body.error.code).toBe("upload_incomplete");
    const early_download = await api.get(`/api/v1/attachments/${attachment.id}/content`, { token: me.access });
    expect(early_download.status).toBe(409);

    expect((await upload(up, PNG)).status).toBe(200);
    const done = await api.post(`/api/v1/attachments/${attachment.id}/complete`, { token: me.access });
    expect(done.status, done.text).toBe(200);
    expect(done.body).toEqual({ ...attachment, status: "ready" });

    read = await api.get(`/api/v1/todos/${todo.id}`, { token: me.access });
    expect(read.body.version).toBe(2);
    expect(read.headers.get("etag")).toBe('"2"');
    expect(read.body.attachments).toEqual([done.body]);
    const listed = await api.get("/api/v1/todos", { token: me.access });
    expect(listed.body.items[0].attachments).toEqual([done.body]);

    const content = await fetch(`${suite.app.url}/api/v1/attachments/${attachment.id}/content`, {
      headers: { authorization: `Bearer ${me.access}` },
      redirect: "manual",
    });
    expect(content.status).toBe(302);
    const location = content.headers.get("location")!;
    expect(location.startsWith(`${suite.app.url}/local-files/`)).toBe(true);
    const file = await fetch(location);
    expect(file.status).toBe(200);
    expect(Buffer.from(await file.arrayBuffer()).equals(PNG)).toBe(true);
    expect(file.headers.get("content-type")).toBe("image/png");
    expect(file.headers.get("content-disposition")).toBe(
      `attachment; filename="Beleg M_rz.png"; filename*=UTF-8''Beleg%20M%C3%A4rz.png`,
    );

    const removed = await api.delete(`/api/v1/attachments/${attachment.id}`, { token: me.access });
    expect(removed.status).toBe(204);
    read = await api.get(`/api/v1/todos/${todo.id}`, { token: me.access });
    expect(read.body).toMatchObject({ version: 3, attachments: [] });
    expect((await api.delete(`/api/v1/attachments/${attachment.id}`, { token: me.access })).status).toBe(404);
    const queued = await suite.query("select 1 from object_deletions");
    expect(queued.rowCount).toBeGreaterThan(0);
  });

  it("keys are random and never the filename; nobody else sees an attachment", async () => {
    const me = await newAccount(api);
    const other = await newAccount(api);
    const todo = await todoOf(api, me);
    const a = await startUpload(api, me, todo.id, { filename: "secret-plan.png" });
    const b = await startUpload(api, me, todo.id, { filename: "secret-plan.png" });
    const { rows } = await suite.query<{ object_key: string }>(
      "select object_key from attachments where id = any($1::uuid[])",
      [[a.body.attachment.id, b.body.attachment.id]],
    );
    expect(rows).toHaveLength(2);
    expect(rows[0]!.object_key).not.toBe(rows[1]!.object_key);
    for (const { object_key } of rows) {
      expect(object_key).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(object_key).not.toContain("secret");
    }
    expect(a.body.upload.url).not.toContain("secret");
    for (const path of [`/api/v1/attachments/${a.body.attachment.id}/complete`]) {
      const res = await api.post(path, { token: other.access });
      expect(res.status).toBe(404);
    }
    expect((await api.get(`/api/v1/attachments/${a.body.attachment.id}/content`, { token: other.access })).status).toBe(
      404,
    );
    expect((await api.delete(`/api/v1/attachments/${a.body.attachment.id}`, { token: other.access })).status).toBe(404);
    expect((await startUpload(api, other, todo.id)).status).toBe(404);
    expect((await api.post("/api/v1/attachments/not-a-uuid/complete", { token: me.access })).status).toBe(404);
  });
});

describe("limits", () => {
  it("a file over the size limit is 413; a type not allowed is 422; the request is checked", async () => {
    const me = await newAccount(api);
    const todo = await todoOf(api, me);
    const big = await startUpload(api, me, todo.id, { size: 1001 });
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe("payload_too_large");
    const svg = await startUpload(api, me, todo.id, { content_type: "image/svg+xml" });
    expect(svg.status).toBe(422);
    expect(svg.body.error).toMatchObject({ code: "validation_failed", details: [{ path: "content_type" }] });
    for (const bad of [
      { filename: "" },
      { filename: "a/b.png" },
      { filename: "a\u0007.png" },
      { size: -1 },
      { content_type: "Image/PNG" },
    ]) {
      const res = await startUpload(api, me, todo.id, bad);
      expect(res.status, JSON.stringify(bad)).toBe(422);
    }
    const extra = await api.post(`/api/v1/todos/${todo.id}/attachments`, {
      token: me.access,
      json: { filename: "a.png", content_type: "image/png", size: 1, path: "../x" },
    });
    expect(extra.status).toBe(422);
    expect((await suite.query("select 1 from attachments where user_id = $1", [me.id])).rowCount).toBe(0);
  });

  it("at most FILES_MAX_PER_TODO attachments on a todo, pending ones included", async () => {
    const me = await newAccount(api);
    const todo = await todoOf(api, me);
    for (let i = 0; i < 3; i++) expect((await startUpload(api, me, todo.id, { size: 10 })).status).toBe(201);
    const fourth = await startUpload(api, me, todo.id, { size: 10 });
    expect(fourth.status).toBe(422);
    expect(fourth.body.error.code).toBe("too_many_attachments");
  });

  it("the quota counts pending uploads: the one that would pass it is 422 quota_exceeded", async () => {
    const me = await newAccount(api);
    const [t1, t2, t3] = [await todoOf(api, me), await todoOf(api, me), await todoOf(api, me)];
    expect((await startUpload(api, me, t1.id, { size: 1000 })).status).toBe(201);
    expect((await startUpload(api, me, t2.id, { size: 1000 })).status).toBe(201);
    const over = await startUpload(api, me, t3.id, { size: 1 });
    expect(over.status).toBe(422);
    expect(over.body.error.code).toBe("quota_exceeded");
    const { rows } = await suite.query("select storage_bytes from users where id = $1", [me.id]);
    expect(rows[0].storage_bytes).toBe("2000");
  });

  it("two uploads that together pass the quota, sent at once: exactly one is refused", async () => {
    for (let round = 0; round < 5; round++) {
      const me = await newAccount(api);
      // 1,000 of the 2,000 bytes already in use: the two 1,000-byte uploads together pass the quota.
      await startUpload(api, me, (await todoOf(api, me)).id, { size: 1000 });
      const [t1, t2] = [await todoOf(api, me), await todoOf(api, me)];
      // Two todos, so the todo locks do not serialize them: only the quota's own lock can.
      const results = await Promise.all([
        startUpload(api, me, t1.id, { size: 1000 }),
        startUpload(api, me, t2.id, { size: 1000 }),
      ]);
      const statuses = results.map((r) => r.status).sort();
      expect(statuses, `round ${round}`).toEqual([201, 422]);
      expect(results.find((r) => r.status === 422)!.body.error.code).toBe("quota_exceeded");
      const { rows } = await suite.query("select storage_bytes from users where id = $1", [me.id]);
      expect(rows[0].storage_bytes).toBe("2000");
    }
  });
});

describe("complete", () => {
  it("concurrent completes all answer the ready attachment; the todo's version grows once", async () => {
    const me = await newAccount(api);
    const todo = await todoOf(api, me);
    const created = await startUpload(api, me, todo.id);
    await upload(created.body.upload, PNG);
    const path = `/api/v1/attachments/${created.body.attachment.id}/complete`;
    const results = await Promise.all(Array.from({ length: 6 }, () => api.post(path, { token: me.access })));
    for (const r of results) {
      expect(r.status, r.text).toBe(200);
      expect(r.body.status).toBe("ready");
    }
    const again = await api.post(path, { token: me.access });
    expect(again.status).toBe(200);
    const read = await api.get(`/api/v1/todos/${todo.id}`, { token: me.access });
    expect(read.body.version).toBe(2);
  });

  it("an object of another size than declared is 409 upload_incomplete", async () => {
    const me = await newAccount(api);
    const todo = await todoOf(api, me);
    const created = await startUpload(api, me, todo.id, { size: 50 });
    expect((await upload(created.body.upload, Buffer.alloc(20, 1))).status).toBe(200);
    const res = await api.post(`/api/v1/attachments/${created.body.attachment.id}/complete`, { token: me.access });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe("upload_incomplete");
  });

  it("Idempotency-Key: a repeated create answers the first response and reserves once", async () => {
    const me = await newAccount(api);
    const todo = await todoOf(api, me);
    const headers = { "Idempotency-Key": "attach-1" };
    const first = await startUpload(api, me, todo.id, { size: 300 }, headers);
    const second = await startUpload(api, me, todo.id, { size: 300 }, headers);
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    expect(second.body).toEqual(first.body);
    const { rows } = await suite.query("select storage_bytes from users where id = $1", [me.id]);
    expect(rows[0].storage_bytes).toBe("300");
    const ready = await readyAttachment(api, me, todo.id);
    expect(ready.status).toBe("ready");
  });
});

describe("the local store's presigned URLs", () => {
  it("refuse a tampered signature, key, size or content type, and bytes over the signed size", async () => {
    const me = await newAccount(api);
    const todo = await todoOf(api, me);
    const created = await startUpload(api, me, todo.id, { size: 10 });
    const url = new URL(created.body.upload.url);
    const variants: Array<[string, () => Promise<Response>]> = [
      ["signature", () => fetch(withParam(url, "sig", "A".repeat(43)), put("image/png", 10))],
      ["size", () => fetch(withParam(url, "size", "11"), put("image/png", 11))],
      [
        "expiry",
        () =>
          fetch(withParam(url, "expires", String(Number(url.searchParams.get("expires")) + 60)), put("image/png", 10)),
      ],
      ["content type", () => fetch(url, put("text/plain", 10))],
      ["key", () => fetch(otherKey(url), put("image/png", 10))],
    ];
    for (const [what, send] of variants) expect((await send()).status, what).toBe(403);
    expect((await fetch(url, put("image/png", 11))).status).toBe(413);
    expect(objects()).not.toContain(url.pathname.split("/").pop());
    expect((await fetch(url, put("image/png", 10))).status).toBe(200);
  });

  it("are not part of the OpenAPI document", async () => {
    const doc = await api.get("/openapi.json");
    expect(Object.keys(doc.body.paths).some((p) => p.includes("local-files"))).toBe(false);
    expect(doc.body.paths["/api/v1/todos/{id}/attachments"].post.operationId).toBe("createAttachment");
  });
});

const put = (type: string, size: number): RequestInit => ({
  method: "PUT",
  headers: { "Content-Type": type },
  body: Buffer.alloc(size, 1),
});

function withParam(url: URL, name: string, value: string): URL {
  const copy = new URL(url);
  copy.searchParams.set(name, value);
  return copy;
}

function otherKey(url: URL): URL {
  const copy = new URL(url);
  copy.pathname = `/local-files/${"x".repeat(32)}`;
  return copy;
}
