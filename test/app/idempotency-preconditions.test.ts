import { describe, expect, it } from "vitest";
import { VALID_IDEMPOTENCY_KEY as VALID_KEY } from "../../app/services/idempotency-store.js";
import { apiSuite } from "../support/api-suite.js";
import { newAccount } from "../../harness/support/app-harness.js";

/**
 * An idempotent request is its method, path, body and If-Match: a retry with another If-Match is
 * another request (422 idempotency_key_reused), never a replay of the first answer. A key's edges
 * are never spaces.
 */
const { api, sql: sqlClient } = apiSuite();

describe("If-Match is part of an idempotent request", () => {
  it("the same key with a stale If-Match is 422, not the first 200 replayed", async () => {
    const acct = await newAccount(api);
    const todo = (await api.post("/api/v1/todos", { token: acct.access, json: { title: "t" } })).body;
    const key = { "idempotency-key": "complete-1" };
    const first = await api.post(`/api/v1/todos/${todo.id}/complete`, {
      token: acct.access,
      headers: { ...key, "if-match": '"1"' },
    });
    expect(first.status).toBe(200);
    // The same request again: the stored answer.
    const replay = await api.post(`/api/v1/todos/${todo.id}/complete`, {
      token: acct.access,
      headers: { ...key, "if-match": '"1"' },
    });
    expect(replay.status).toBe(200);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    // Another precondition under the same key: another request.
    for (const ifMatch of ['"2"', '"7"', "*"]) {
      const other = await api.post(`/api/v1/todos/${todo.id}/complete`, {
        token: acct.access,
        headers: { ...key, "if-match": ifMatch },
      });
      expect(other.status, ifMatch).toBe(422);
      expect(other.body.error.code).toBe("idempotency_key_reused");
    }
    // Without If-Match, too.
    const bare = await api.post(`/api/v1/todos/${todo.id}/complete`, { token: acct.access, headers: key });
    expect(bare.status).toBe(422);
  });

  it("a key stored without If-Match by an earlier release still replays (the hash is unchanged)", async () => {
    const acct = await newAccount(api);
    const first = await api.post("/api/v1/todos", {
      token: acct.access,
      json: { title: "t" },
      headers: { "idempotency-key": "old-release" },
    });
    expect(first.status).toBe(201);
    const { requestHash } = await import("../../app/services/idempotency-store.js");
    const stored = await sqlClient.query("select request_hash from idempotency_keys where user_id = $1", [acct.id]);
    expect(stored.rows[0].request_hash).toBe(requestHash("POST", "/api/v1/todos", JSON.stringify({ title: "t" })));
  });
});

describe("Idempotency-Key syntax", () => {
  it.each([
    ["k", true],
    ["a b", true],
    ["x".repeat(255), true],
    [" k", false],
    ["k ", false],
    ["", false],
    ["x".repeat(256), false],
    ["tab\there", false],
    ["é", false],
  ])("%j valid: %s", (key, valid) => {
    expect(VALID_KEY.test(key)).toBe(valid);
  });

  it("spaces around the header value are HTTP's, not the key's: the key is the value between them", async () => {
    const acct = await newAccount(api);
    const a = await api.post("/api/v1/todos", {
      token: acct.access,
      json: { title: "t" },
      headers: { "idempotency-key": "  spaced  " },
    });
    const b = await api.post("/api/v1/todos", {
      token: acct.access,
      json: { title: "t" },
      headers: { "idempotency-key": "spaced" },
    });
    expect(a.status).toBe(201);
    expect(b.headers.get("idempotent-replayed")).toBe("true");
  });
});
