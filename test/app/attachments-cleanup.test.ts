import { existsSync } from "node:fs";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LocalObjectStore } from "../../app/files/local-object-store.js";
import { filesSuite, newAccount, PNG, readyAttachment, startUpload, todoOf, upload } from "../support/files.js";

/**
 * A real local store that fails its next `failures` deletions (as TOS would when unreachable):
 * the janitor must keep the row and retry.
 */
class FailingDeletes extends LocalObjectStore {
  failures = 0;
  unreachable = false;
  override async head(key: string): Promise<{ size: number } | null> {
    if (this.unreachable) throw new Error("object store unreachable (test)");
    return super.head(key);
  }
  override async delete(key: string): Promise<void> {
    if (this.failures > 0) {
      this.failures--;
      throw new Error("object store unreachable (test)");
    }
    return super.delete(key);
  }
}

const store = new FailingDeletes(
  join(mkdtempSync(join(tmpdir(), "todo-files-")), "files"),
  new TextEncoder().encode("test-only-files-signing-key-0123456789"),
);
const suite = filesSuite(() => ({ fileStore: store }));
const { api } = suite;
const janitor = () => suite.app.server.fileJanitor;
const stored = (key: string) => existsSync(join(store.dir, key));
const keyOf = async (id: string) =>
  (await suite.query<{ object_key: string }>("select object_key from attachments where id = $1", [id])).rows[0]!
    .object_key;
/** As if the upload URLs were issued long ago (they have expired): the janitor may finish with these rows. */
const ageQueue = () => suite.query("update object_deletions set upload_expires_at = now() - interval '1 minute'");
/** As if uploaded an hour ago: its upload URL has expired, so its object's first deletion is the last. */
const uploadedLongAgo = (id: string) =>
  suite.query("update attachments set created_at = now() - interval '1 hour' where id = $1", [id]);
const due = () => suite.query("update object_deletions set next_attempt_at = now()");
const queue = async () => (await suite.query("select object_key, attempts, last_error from object_deletions")).rows;

describe("the janitor removes the objects of deleted attachments, todos and accounts", () => {
  it("deleting a todo queues its objects in the same transaction; the janitor removes them and the queue drains", async () => {
    const me = await newAccount(api);
    const todo = await todoOf(api, me);
    const a = await readyAttachment(api, me, todo.id);
    const key = await keyOf(a.id);
    await uploadedLongAgo(a.id);
    expect(stored(key)).toBe(true);
    await suite.query("begin");
    // The queue row is written by the deletion itself: a deletion rolled back queues nothing.
    await suite.query("delete from todos where id = $1", [todo.id]);
    expect((await queue()).map((r) => r.object_key)).toEqual([key]);
    await suite.query("rollback");
    expect(await queue()).toEqual([]);
    expect((await api.delete(`/api/v1/todos/${todo.id}`, { token: me.access })).status).toBe(204);
    // The deletion poked the janitor; this run joins it (or finds nothing left to do).
    await janitor().runOnce();
    expect(stored(key)).toBe(false);
    expect(await queue()).toEqual([]);
  });

  it("an object deleted while its upload URL still works is deleted again after the URL expired", async () => {
    const me = await newAccount(api);
    const todo = await todoOf(api, me);
    const created = await startUpload(api, me, todo.id);
    const key = await keyOf(created.body.attachment.id);
    expect((await api.delete(`/api/v1/attachments/${created.body.attachment.id}`, { token: me.access })).status).toBe(
      204,
    );
    await janitor().runOnce();
    // The client uploads late, with the URL it still holds: the row is still there to catch it.
    expect((await upload(created.body.upload, PNG)).status).toBe(200);
    expect(stored(key)).toBe(true);
    expect((await queue()).map((r) => r.object_key)).toEqual([key]);
    await ageQueue();
    await due();
    await janitor().runOnce();
    expect(stored(key)).toBe(false);
    expect(await queue()).toEqual([]);
  });

  it("an account deleted while its uploads are pending: every object goes, the queue drains, nothing is left", async () => {
    const me = await newAccount(api);
    const t1 = await todoOf(api, me);
    const t2 = await todoOf(api, me);
    const ready = await readyAttachment(api, me, t1.id);
    const pending = await startUpload(api, me, t2.id);
    await upload(pending.body.upload, PNG);
    const never = await startUpload(api, me, t2.id);
    const keys = [
      await keyOf(ready.id),
      await keyOf(pending.body.attachment.id),
      await keyOf(never.body.attachment.id),
    ];
    expect((await api.delete("/api/v1/users/me", { token: me.access })).status).toBe(204);
    expect((await suite.query("select 1 from attachments where user_id = $1", [me.id])).rowCount).toBe(0);
    expect((await queue()).map((r) => r.object_key).sort()).toEqual([...keys].sort());
    await janitor().runOnce();
    // Their upload URLs were issued moments ago: the rows stay until those URLs have expired.
    expect(await queue()).toHaveLength(3);
    await ageQueue();
    await due();
    await janitor().runOnce();
    for (const key of keys) expect(stored(key), key).toBe(false);
    expect(await queue()).toEqual([]);
  });

  it("an administrator's deletion of a user queues their objects too", async () => {
    const admin = await newAccount(api);
    await suite.query("update users set role = 'admin' where id = $1", [admin.id]);
    const me = await newAccount(api);
    const todo = await todoOf(api, me);
    const a = await readyAttachment(api, me, todo.id);
    const user = await api.get(`/api/v1/admin/users/${me.id}`, { token: admin.access });
    expect(user.body.storage_bytes).toBe(PNG.length);
    const stats = await api.get("/api/v1/admin/stats", { token: admin.access });
    expect(stats.body.storage_bytes).toBeGreaterThanOrEqual(PNG.length);
    const key = await keyOf(a.id);
    await uploadedLongAgo(a.id);
    expect((await api.delete(`/api/v1/admin/users/${me.id}`, { token: admin.access })).status).toBe(204);
    await janitor().runOnce();
    expect(stored(key)).toBe(false);
    expect(await queue()).toEqual([]);
  });
});

describe("retries and abandoned uploads", () => {
  it("a store that fails keeps the row, which is retried with a growing wait until the store confirms", async () => {
    const me = await newAccount(api);
    const todo = await todoOf(api, me);
    const a = await readyAttachment(api, me, todo.id);
    const key = await keyOf(a.id);
    await uploadedLongAgo(a.id);
    store.failures = 2;
    expect((await api.delete(`/api/v1/attachments/${a.id}`, { token: me.access })).status).toBe(204);
    // The deletion's poke made the first attempt (this run joins it, or finds the row not due).
    await janitor().runOnce();
    let rows = await suite.query("select attempts, last_error, next_attempt_at > now() as later from object_deletions");
    expect(rows.rows).toEqual([{ attempts: 1, last_error: "object store unreachable (test)", later: true }]);
    // Not due yet: a run now leaves it alone.
    let run = await janitor().runOnce();
    expect(run.failed + run.deleted).toBe(0);
    await due();
    run = await janitor().runOnce();
    expect(run.failed).toBe(1);
    rows = await suite.query("select attempts from object_deletions");
    expect(rows.rows).toEqual([{ attempts: 2 }]);
    expect(stored(key)).toBe(true);
    await due();
    run = await janitor().runOnce();
    expect(run.deleted).toBe(1);
    expect(stored(key)).toBe(false);
    expect(await queue()).toEqual([]);
  });

  it("pending uploads older than 24 hours are removed, their bytes leave the quota and their objects go", async () => {
    const me = await newAccount(api);
    const todo = await todoOf(api, me);
    const old = await startUpload(api, me, todo.id);
    await upload(old.body.upload, PNG);
    const fresh = await startUpload(api, me, todo.id);
    const key = await keyOf(old.body.attachment.id);
    await suite.query("update attachments set created_at = now() - interval '25 hours' where id = $1", [
      old.body.attachment.id,
    ]);
    const run = await janitor().runOnce();
    expect(run.expired).toBeGreaterThanOrEqual(1);
    const left = await suite.query("select id from attachments where user_id = $1", [me.id]);
    expect(left.rows.map((r) => r.id)).toEqual([fresh.body.attachment.id]);
    const bytes = await suite.query("select storage_bytes from users where id = $1", [me.id]);
    expect(bytes.rows[0].storage_bytes).toBe(String(PNG.length));
    // Created 25 hours ago: its upload URL has long expired, so the first deletion is the last.
    expect(stored(key)).toBe(false);
    expect((await queue()).map((r) => r.object_key)).not.toContain(key);
  });
});

describe("a store that cannot answer", () => {
  it("makes complete a 503 unavailable with Retry-After, changes nothing, and the retry succeeds", async () => {
    const me = await newAccount(api);
    const todo = await todoOf(api, me);
    const created = await startUpload(api, me, todo.id);
    await upload(created.body.upload, PNG);
    const path = `/api/v1/attachments/${created.body.attachment.id}/complete`;
    store.unreachable = true;
    try {
      const res = await api.post(path, { token: me.access });
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe("unavailable");
      expect(res.headers.get("retry-after")).toBe("5");
      expect(res.text).not.toContain("unreachable");
    } finally {
      store.unreachable = false;
    }
    expect(suite.app.logs.some((l) => l.includes("object store unavailable"))).toBe(true);
    const read = await api.get(`/api/v1/todos/${todo.id}`, { token: me.access });
    expect(read.body).toMatchObject({ version: 1, attachments: [] });
    expect((await api.post(path, { token: me.access })).status).toBe(200);
  });
});

describe("sync carries attachment changes", () => {
  it("completing and deleting an attachment each come through the delta feed with the todo's new version", async () => {
    const me = await newAccount(api);
    const todo = await todoOf(api, me);
    const start = await api.get("/api/v1/todos/changes", { token: me.access });
    expect(start.body.changes[0].todo.attachments).toEqual([]);
    const a = await readyAttachment(api, me, todo.id);
    const afterAdd = await api.get(`/api/v1/todos/changes?cursor=${start.body.next_cursor}`, { token: me.access });
    expect(afterAdd.body.changes).toHaveLength(1);
    expect(afterAdd.body.changes[0].todo).toMatchObject({ id: todo.id, version: 2 });
    expect(afterAdd.body.changes[0].todo.attachments.map((x: { id: string }) => x.id)).toEqual([a.id]);
    expect((await api.delete(`/api/v1/attachments/${a.id}`, { token: me.access })).status).toBe(204);
    const afterRemove = await api.get(`/api/v1/todos/changes?cursor=${afterAdd.body.next_cursor}`, {
      token: me.access,
    });
    expect(afterRemove.body.changes).toHaveLength(1);
    expect(afterRemove.body.changes[0].todo).toMatchObject({ id: todo.id, version: 3, attachments: [] });
    // A pending upload is no change of the todo.
    await startUpload(api, me, todo.id);
    const quiet = await api.get(`/api/v1/todos/changes?cursor=${afterRemove.body.next_cursor}`, { token: me.access });
    expect(quiet.body.changes).toEqual([]);
  });
});
