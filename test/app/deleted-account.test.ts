import { describe, expect, it } from "vitest";
import { openDatabase } from "../../app/db/database.js";
import { AppError } from "../../app/errors.js";
import { IdempotencyStore } from "../../app/services/idempotency-store.js";
import { apiSuite } from "../support/api-suite.js";
import { newAccount } from "../../harness/support/app-harness.js";

/**
 * A valid access token of an account deleted a moment earlier stops at once: 401 on every route,
 * whatever headers come with it, and nothing is written for the account that no longer exists.
 */
const suite = apiSuite();
const { api, sql: sqlClient } = suite;

const HEADER_VARIANTS: Record<string, Record<string, string>> = {
  none: {},
  "Idempotency-Key": { "idempotency-key": "deleted-account-key" },
  "If-Match": { "if-match": '"1"' },
  "If-None-Match": { "if-none-match": '"1"' },
  "Idempotency-Key + If-Match": { "idempotency-key": "deleted-account-key-2", "if-match": '"1"' },
  "X-Request-Id": { "x-request-id": "deleted-account-probe" },
};

describe("the token of a deleted account", () => {
  it("is 401 on every authenticated route with every header combination, and leaves no row behind", async () => {
    const acct = await newAccount(api);
    const todo = (await api.post("/api/v1/todos", { token: acct.access, json: { title: "t" } })).body;
    expect((await api.delete("/api/v1/users/me", { token: acct.access })).status).toBe(204);

    const routes: Array<[string, string, unknown?]> = [
      ["GET", "/api/v1/users/me"],
      ["PATCH", "/api/v1/users/me", { full_name: "x" }],
      ["PUT", "/api/v1/users/me/password", { current_password: acct.password, new_password: "another password" }],
      ["DELETE", "/api/v1/users/me"],
      ["POST", "/api/v1/users/me/email-verification"],
      ["GET", "/api/v1/todos"],
      ["POST", "/api/v1/todos", { title: "t" }],
      ["GET", "/api/v1/todos/changes"],
      ["GET", `/api/v1/todos/${todo.id}`],
      ["PATCH", `/api/v1/todos/${todo.id}`, { title: "u" }],
      ["DELETE", `/api/v1/todos/${todo.id}`],
      ["POST", `/api/v1/todos/${todo.id}/complete`],
      ["POST", `/api/v1/todos/${todo.id}/reopen`],
    ];
    const failures: string[] = [];
    for (const [method, path, json] of routes) {
      for (const [variant, headers] of Object.entries(HEADER_VARIANTS)) {
        const res = await api[method.toLowerCase() as "get"](path, { token: acct.access, headers, json });
        if (res.status !== 401 || res.body?.error?.code !== "unauthorized")
          failures.push(`${method} ${path} [${variant}] → ${res.status} ${res.text.slice(0, 80)}`);
        else expect(res.headers.get("www-authenticate")).toBe('Bearer realm="todo-api"');
      }
    }
    expect(failures).toEqual([]);
    const keys = await sqlClient.query("select count(*)::int as n from idempotency_keys where user_id = $1", [acct.id]);
    expect(keys.rows[0].n).toBe(0);
  });

  it("the password limiter never counts a deleted account's attempts (401, not 429, however often)", async () => {
    const acct = await newAccount(api);
    expect((await api.delete("/api/v1/users/me", { token: acct.access })).status).toBe(204);
    for (let i = 0; i < 12; i++) {
      const res = await api.put("/api/v1/users/me/password", {
        token: acct.access,
        json: { current_password: "wrong password", new_password: "another password" },
      });
      expect(res.status).toBe(401);
    }
  });
});

describe("the idempotency store", () => {
  it("answers 401, not a foreign-key 500, when the account is deleted between the token check and the claim", async () => {
    const acct = await newAccount(api);
    expect((await api.delete("/api/v1/users/me", { token: acct.access })).status).toBe(204);
    const handle = await openDatabase({ kind: "postgres", url: suite.dbUrl, poolSize: 1 });
    try {
      const claim = new IdempotencyStore(handle.db).claim(acct.id, "k", "hash");
      await expect(claim).rejects.toBeInstanceOf(AppError);
      await expect(claim).rejects.toMatchObject({ code: "unauthorized", status: 401 });
    } finally {
      await handle.close();
    }
  });
});
