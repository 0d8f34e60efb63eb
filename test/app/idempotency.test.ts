import { describe, expect, it } from "vitest";
import { apiSuite } from "../support/api-suite.js";
import { client, newAccount, startTestApp, type Account, type Client } from "../../harness/support/app-harness.js";

/** v1.1 Idempotency-Key on the todo POSTs, stored in PostgreSQL (two servers share it). */
const suite = apiSuite({}, {});
const { api, sql: sqlClient } = suite;
const api2 = suite.clients[1]!;

const todoCount = async (acct: Account) =>
  Number((await sqlClient.query("select count(*) from todos where user_id = $1", [acct.id])).rows[0].count);

const create = (c: Client, acct: Account, key: string, json: unknown = { title: "Buy milk" }) =>
  c.post("/api/v1/todos", { token: acct.access, json, headers: { "idempotency-key": key } });

describe("Idempotency-Key", () => {
  it("a repeat returns the first response (status, body, Location, ETag) with Idempotent-Replayed and creates nothing", async () => {
    const acct = await newAccount(api);
    const first = await create(api, acct, "key-1");
    expect(first.status).toBe(201);
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    // The other server (a restart, or the next instance behind the load balancer) knows the key too.
    for (const c of [api, api2]) {
      const again = await create(c, acct, "key-1");
      expect(again.status).toBe(201);
      expect(again.text).toBe(first.text);
      expect(again.headers.get("location")).toBe(first.headers.get("location"));
      expect(again.headers.get("etag")).toBe('"1"');
      expect(again.headers.get("content-type")).toBe("application/json; charset=utf-8");
      expect(again.headers.get("idempotent-replayed")).toBe("true");
    }
    expect(await todoCount(acct)).toBe(1);
    // Without a key, v1 behaviour: every POST creates.
    await api.post("/api/v1/todos", { token: acct.access, json: { title: "Buy milk" } });
    expect(await todoCount(acct)).toBe(2);
  });

  it("the same key with a different request is 422 idempotency_key_reused; keys are per user", async () => {
    const acct = await newAccount(api);
    const other = await newAccount(api);
    expect((await create(api, acct, "k")).status).toBe(201);
    const differentBody = await create(api, acct, "k", { title: "Buy bread" });
    expect(differentBody.status).toBe(422);
    expect(differentBody.body.error.code).toBe("idempotency_key_reused");
    const todoId = (await api.get("/api/v1/todos", { token: acct.access })).body.items[0].id;
    const differentPath = await api.post(`/api/v1/todos/${todoId}/complete`, {
      token: acct.access,
      headers: { "idempotency-key": "k" },
    });
    expect(differentPath.status).toBe(422);
    expect((await create(api, other, "k")).status).toBe(201);
    expect(await todoCount(acct)).toBe(1);
    expect(await todoCount(other)).toBe(1);
  });

  it("complete and reopen replay their first response too", async () => {
    const acct = await newAccount(api);
    const todo = (await create(api, acct, "c0")).body;
    const done = await api.post(`/api/v1/todos/${todo.id}/complete`, {
      token: acct.access,
      headers: { "idempotency-key": "c1" },
    });
    expect(done.body.completed).toBe(true);
    await api.post(`/api/v1/todos/${todo.id}/reopen`, { token: acct.access });
    const replay = await api.post(`/api/v1/todos/${todo.id}/complete`, {
      token: acct.access,
      headers: { "idempotency-key": "c1" },
    });
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.body).toEqual(done.body);
    // The replay did nothing: the todo is still reopened.
    expect((await api.get(`/api/v1/todos/${todo.id}`, { token: acct.access })).body.completed).toBe(false);
  });

  it("concurrent repeats on two servers never create two todos", async () => {
    const acct = await newAccount(api);
    for (let round = 0; round < 3; round++) {
      const key = `race-${round}`;
      const responses = await Promise.all(Array.from({ length: 16 }, (_, i) => create(i % 2 ? api2 : api, acct, key)));
      const statuses = responses.map((r) => r.status);
      expect(
        statuses.every((s) => s === 201 || s === 409),
        statuses.join(","),
      ).toBe(true);
      const fresh = responses.filter((r) => r.status === 201 && r.headers.get("idempotent-replayed") === null);
      expect(fresh).toHaveLength(1);
      for (const r of responses.filter((x) => x.status === 409)) {
        expect(r.body.error.code).toBe("conflict");
        expect(r.headers.get("retry-after")).toBe("1");
      }
      for (const r of responses.filter((x) => x.status === 201)) expect(r.body).toEqual(fresh[0]!.body);
      expect(await todoCount(acct)).toBe(round + 1);
    }
  });

  it("409 while the first is in flight; a claim whose process died is taken over after its lock runs out", async () => {
    const acct = await newAccount(api);
    const body = JSON.stringify({ title: "Buy milk" });
    const hash = (await import("../../app/services/idempotency-store.js")).requestHash("POST", "/api/v1/todos", body);
    await sqlClient.query(
      "insert into idempotency_keys (user_id, key, request_hash, claim, locked_until) values ($1, 'stuck', $2, gen_random_uuid(), now() + interval '1 minute')",
      [acct.id, hash],
    );
    const busy = await create(api, acct, "stuck");
    expect(busy.status).toBe(409);
    expect(busy.headers.get("retry-after")).toBe("1");
    await sqlClient.query("update idempotency_keys set locked_until = now() - interval '1 second' where user_id = $1", [
      acct.id,
    ]);
    const taken = await create(api, acct, "stuck");
    expect(taken.status).toBe(201);
    expect(taken.headers.get("idempotent-replayed")).toBeNull();
    expect((await create(api, acct, "stuck")).headers.get("idempotent-replayed")).toBe("true");
    expect(await todoCount(acct)).toBe(1);
  });

  it("a request that fails stores nothing: the key is free for the corrected retry", async () => {
    const acct = await newAccount(api);
    const invalid = await create(api, acct, "fix-me", { title: "" });
    expect(invalid.status).toBe(422);
    const fixed = await create(api, acct, "fix-me", { title: "fixed" });
    expect(fixed.status).toBe(201);
    const missing = await api.post("/api/v1/todos/999999999/complete", {
      token: acct.access,
      headers: { "idempotency-key": "nf" },
    });
    expect(missing.status).toBe(404);
    expect(
      (await sqlClient.query("select key from idempotency_keys where user_id = $1 order by key", [acct.id])).rows.map(
        (r) => r.key,
      ),
    ).toEqual(["fix-me"]);
  });

  it("422 for a key that is too long or not printable ASCII", async () => {
    const acct = await newAccount(api);
    for (const key of ["x".repeat(256), "clé"]) {
      const res = await create(api, acct, key);
      expect(res.status).toBe(422);
      expect(res.body.error.details[0].path).toBe("Idempotency-Key");
    }
    expect((await create(api, acct, "x".repeat(255))).status).toBe(201);
  });

  it("keys older than 24 hours are cleaned up (and a key past its 24 hours is free again)", async () => {
    const acct = await newAccount(api);
    await create(api, acct, "old");
    await create(api, acct, "recent");
    await sqlClient.query(
      "update idempotency_keys set created_at = now() - interval '26 hours' where user_id = $1 and key = 'old'",
      [acct.id],
    );
    // A process runs the cleanup on its first idempotent request (then at most every 10 minutes).
    const fresh = await startTestApp({ databaseUrl: suite.dbUrl });
    try {
      await create(client(fresh.url), acct, "trigger");
      let keys: string[] = [];
      for (let i = 0; i < 50; i++) {
        keys = (
          await sqlClient.query("select key from idempotency_keys where user_id = $1 order by key", [acct.id])
        ).rows.map((r) => r.key);
        if (!keys.includes("old")) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(keys).toEqual(["recent", "trigger"]);
    } finally {
      await fresh.close();
    }
    const reused = await create(api, acct, "old", { title: "a new request" });
    expect(reused.status).toBe(201);
  });
});
