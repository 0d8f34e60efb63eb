import { request as httpRequest } from "node:http";
import { describe, expect, it } from "vitest";
import { apiSuite } from "../support/api-suite.js";
import { newAccount } from "../../harness/support/app-harness.js";

/**
 * What one request can make the server do is bounded, and every refusal is a clear 4xx with the
 * contract's error shape: undeclared methods, missing bodies, nesting depth, entity-tag lists and
 * versions, cursor length, header and body sizes.
 */
const suite = apiSuite();
const { api } = suite;

/** A raw request (any method, any header), for what fetch refuses to send. */
function raw(
  url: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(new URL(path, url), { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString() }),
      );
    });
    req.on("error", reject);
    req.end(body);
  });
}

const urlOf = async () => suite.url;

describe("methods a path does not declare", () => {
  it.each([
    ["TRACE", "/api/v1/todos", "GET, HEAD, POST"],
    ["PUT", "/api/v1/todos", "GET, HEAD, POST"],
    ["PUT", "/api/v1/todos/1", "DELETE, GET, HEAD, PATCH"],
    ["POST", "/api/v1/todos/changes", "GET, HEAD"],
    ["PATCH", "/api/v1/todos/changes", "GET, HEAD"],
    ["DELETE", "/api/v1/todos/changes", "GET, HEAD"],
    ["DELETE", "/api/v1/auth/token", "POST"],
    ["GET", "/api/v1/users/me/password", "PUT"],
    ["TRACE", "/healthz", "GET, HEAD"],
    ["OPTIONS", "/api/v1/users/me", "DELETE, GET, HEAD, PATCH"],
  ])("%s %s → 405 with Allow: %s", async (method, path, allow) => {
    const res = await raw(await urlOf(), method, path);
    expect(res.status, res.text).toBe(405);
    expect(res.headers.allow).toBe(allow);
    expect(JSON.parse(res.text).error.code).toBe("method_not_allowed");
  });

  it("a path nobody declares stays 404", async () => {
    const res = await raw(await urlOf(), "PUT", "/api/v1/nothing-here");
    expect(res.status).toBe(404);
    expect(res.headers.allow).toBeUndefined();
  });
});

describe("a route that declares a required JSON body", () => {
  it("PATCH /users/me without a body is 422 and changes nothing", async () => {
    const acct = await newAccount(api);
    const res = await api.patch("/api/v1/users/me", { token: acct.access });
    expect(res.status, res.text).toBe(422);
    expect(res.body.error.code).toBe("validation_failed");
  });

  it.each([
    ["POST", "/api/v1/todos"],
    ["PUT", "/api/v1/users/me/password"],
    ["POST", "/api/v1/users"],
    ["POST", "/api/v1/auth/refresh"],
    ["POST", "/api/v1/auth/verify-email"],
  ])("%s %s without a body is 422", async (method, path) => {
    const acct = await newAccount(api);
    const res = await raw(await urlOf(), method, path, { authorization: `Bearer ${acct.access}` });
    expect(res.status, res.text).toBe(422);
  });
});

describe("JSON nesting depth", () => {
  const deep = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;
  const deepObject = (depth: number) => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;

  it.each([
    ["POST", "/api/v1/auth/verify-email", false],
    ["POST", "/api/v1/auth/password-reset/confirm", false],
    ["POST", "/api/v1/users", false],
    ["POST", "/api/v1/auth/token", false],
    ["POST", "/api/v1/todos", true],
    ["PATCH", "/api/v1/users/me", true],
  ])("%s %s: 30,000 levels (a 60 KB body) is a 400, never a stack overflow", async (method, path, auth) => {
    const acct = auth ? await newAccount(api) : undefined;
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (acct) headers.authorization = `Bearer ${acct.access}`;
    for (const body of [deep(30_000), `{"token":${deep(30_000)}}`, deepObject(10_000)]) {
      const res = await raw(await urlOf(), method, path, headers, body);
      expect(res.status, res.text.slice(0, 200)).toBe(400);
      expect(JSON.parse(res.text).error.message).toMatch(/nested/);
    }
  });

  it("32 levels are still parsed (the body is then judged by its schema)", async () => {
    const res = await raw(
      await urlOf(),
      "POST",
      "/api/v1/auth/verify-email",
      { "content-type": "application/json" },
      `{"token":${deep(31)}}`,
    );
    expect(res.status).toBe(422);
  });
});

describe("If-Match versions", () => {
  it.each(['"2147483648"', '"9999999999"', '"7", "2147483648"', '"2147483648", W/"3"'])(
    "If-Match: %s is 412 on PATCH, DELETE, complete and reopen (no database range error)",
    async (value) => {
      const acct = await newAccount(api);
      const todo = (await api.post("/api/v1/todos", { token: acct.access, json: { title: "t" } })).body;
      const headers = { "if-match": value };
      const results = [
        await api.patch(`/api/v1/todos/${todo.id}`, { token: acct.access, headers, json: { title: "u" } }),
        await api.post(`/api/v1/todos/${todo.id}/complete`, { token: acct.access, headers }),
        await api.post(`/api/v1/todos/${todo.id}/reopen`, { token: acct.access, headers }),
        await api.delete(`/api/v1/todos/${todo.id}`, { token: acct.access, headers }),
        await api.delete("/api/v1/todos/999999999", { token: acct.access, headers }),
      ];
      expect(results.slice(0, 4).map((r) => r.status)).toEqual([412, 412, 412, 412]);
      expect(results[4]!.status).toBe(404);
    },
  );

  it("a list of more than 64 entity tags is 400", async () => {
    const acct = await newAccount(api);
    const todo = (await api.post("/api/v1/todos", { token: acct.access, json: { title: "t" } })).body;
    const many = Array.from({ length: 65 }, (_, i) => `"${i + 100}"`).join(", ");
    const res = await api.patch(`/api/v1/todos/${todo.id}`, {
      token: acct.access,
      headers: { "if-match": `${many}, "1"` },
      json: { title: "u" },
    });
    expect(res.status).toBe(400);
    const get = await api.get(`/api/v1/todos/${todo.id}`, { token: acct.access, headers: { "if-none-match": many } });
    expect(get.status).toBe(400);
  });
});

describe("sync cursors", () => {
  it("a cursor over 200 characters is 400 bad_request, as any malformed cursor", async () => {
    const acct = await newAccount(api);
    const res = await api.get(`/api/v1/todos/changes?cursor=${"A".repeat(201)}`, { token: acct.access });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("bad_request");
  });
});

describe("sizes", () => {
  it("a header section over 16 KiB is 431 and the server keeps serving", async () => {
    const res = await raw(await urlOf(), "GET", "/healthz", { "x-filler": "a".repeat(20_000) });
    expect(res.status).toBe(431);
    expect((await api.get("/healthz")).status).toBe(200);
  });

  it("a body over 64 KiB is 413, declared or chunked", async () => {
    const acct = await newAccount(api);
    const body = JSON.stringify({ title: "t", description: "x".repeat(70_000) });
    const declared = await raw(
      await urlOf(),
      "POST",
      "/api/v1/todos",
      {
        authorization: `Bearer ${acct.access}`,
        "content-type": "application/json",
        "content-length": String(body.length),
      },
      body,
    );
    expect(declared.status).toBe(413);
    const chunked = await raw(
      await urlOf(),
      "POST",
      "/api/v1/todos",
      { authorization: `Bearer ${acct.access}`, "content-type": "application/json", "transfer-encoding": "chunked" },
      body,
    );
    expect(chunked.status).toBe(413);
  });

  it("limit over its maximum is 422, and the page size never exceeds it", async () => {
    const acct = await newAccount(api);
    expect((await api.get("/api/v1/todos?limit=101", { token: acct.access })).status).toBe(422);
    expect((await api.get("/api/v1/todos/changes?limit=501", { token: acct.access })).status).toBe(422);
  });
});
