import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../support/database.js";
import { client, newAccount, startTestApp, type Client, type TestApp } from "../../harness/support/app-harness.js";

/** v1.1 hardening: NUL characters, due dates outside years 1–9999, the per-user password limit, RateLimit-* headers. */
let app: TestApp;
let api: Client;
let drop: () => Promise<void>;

beforeAll(async () => {
  const db = await createTestDatabase();
  drop = db.drop;
  // Registration/login limits stay high for the fixtures; the password limit is the default 10.
  // The clock is pinned mid-window so a minute boundary cannot split a test's attempts.
  const pinned = Math.floor(Date.now() / 60_000) * 60_000 + 30_000;
  app = await startTestApp({ databaseUrl: db.url, now: () => pinned });
  api = client(app.url);
});

afterAll(async () => {
  await app?.close();
  await drop?.();
});

const NUL = "\u0000";

describe("a NUL character in any string field is 422 naming the field", () => {
  it.each([
    ["POST /api/v1/todos title", "post", "/api/v1/todos", { title: `a${NUL}b` }, "title"],
    ["POST /api/v1/todos description", "post", "/api/v1/todos", { title: "ok", description: NUL }, "description"],
  ] as const)("%s", async (_name, method, path, json, field) => {
    const acct = await newAccount(api);
    const res = await api[method](path, { token: acct.access, json });
    expect(res.status, res.text).toBe(422);
    expect(res.body.error.code).toBe("validation_failed");
    expect(res.body.error.details).toEqual([{ path: field, message: expect.stringContaining("NUL") }]);
  });

  it("PATCH todo, PATCH /users/me, register, login (JSON and form), refresh, the list query", async () => {
    const acct = await newAccount(api);
    const todo = (await api.post("/api/v1/todos", { token: acct.access, json: { title: "t" } })).body;
    const cases: Array<[Promise<{ status: number; body: any }>, string]> = [
      [api.patch(`/api/v1/todos/${todo.id}`, { token: acct.access, json: { title: `x${NUL}` } }), "title"],
      [api.patch("/api/v1/users/me", { token: acct.access, json: { full_name: `A${NUL}` } }), "full_name"],
      [
        api.post("/api/v1/users", {
          json: { username: "nul_user", email: "nul@example.com", password: `pass${NUL}word` },
        }),
        "password",
      ],
      [api.post("/api/v1/auth/token", { json: { username: `a${NUL}`, password: "whatever1" } }), "username"],
      [api.post("/api/v1/auth/token", { form: { username: acct.username, password: `p${NUL}` } }), "password"],
      [api.post("/api/v1/auth/refresh", { json: { refresh_token: `r${NUL}` } }), "refresh_token"],
      [api.get("/api/v1/todos?sort=%00", { token: acct.access }), "sort"],
    ];
    for (const [pending, field] of cases) {
      const res = await pending;
      expect(res.status, JSON.stringify(res.body)).toBe(422);
      expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain(field);
    }
    // Nothing was stored or changed.
    expect((await api.get(`/api/v1/todos/${todo.id}`, { token: acct.access })).body.title).toBe("t");
  });
});

describe("due_date must lie in years 1–9999 after conversion to UTC", () => {
  it.each([
    "0000-06-01T00:00:00Z",
    "0001-01-01T00:30:00+01:00", // 0000-12-31T23:30Z
    "9999-12-31T23:30:00-01:00", // 10000-01-01T00:30Z
  ])("422 for %s (create and update)", async (due) => {
    const acct = await newAccount(api);
    const created = await api.post("/api/v1/todos", { token: acct.access, json: { title: "t", due_date: due } });
    expect(created.status).toBe(422);
    expect(created.body.error.details).toEqual([{ path: "due_date", message: expect.stringContaining("0001–9999") }]);
    const todo = (await api.post("/api/v1/todos", { token: acct.access, json: { title: "t" } })).body;
    const patched = await api.patch(`/api/v1/todos/${todo.id}`, { token: acct.access, json: { due_date: due } });
    expect(patched.status).toBe(422);
  });

  it.each([
    ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000Z"],
    ["9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999Z"],
    ["0001-01-01T08:00:00+08:00", "0001-01-01T00:00:00.000Z"],
  ])("accepts the edges: %s is stored and printed as %s", async (due, printed) => {
    const acct = await newAccount(api);
    const created = await api.post("/api/v1/todos", { token: acct.access, json: { title: "t", due_date: due } });
    expect(created.status, created.text).toBe(201);
    expect(created.body.due_date).toBe(printed);
    expect((await api.get(`/api/v1/todos/${created.body.id}`, { token: acct.access })).body.due_date).toBe(printed);
  });
});

describe("rate limits", () => {
  it("PUT /users/me/password is limited per user (10 a minute): 429 with Retry-After and RateLimit-* headers", async () => {
    const acct = await newAccount(api);
    const other = await newAccount(api);
    const wrong = { current_password: "not the password", new_password: "new password 123" };
    for (let i = 0; i < 10; i++) {
      const res = await api.put("/api/v1/users/me/password", { token: acct.access, json: wrong });
      expect(res.status).toBe(422);
      expect(res.headers.get("ratelimit-limit")).toBe("10");
      expect(res.headers.get("ratelimit-remaining")).toBe(String(9 - i));
      expect(Number(res.headers.get("ratelimit-reset"))).toBeGreaterThanOrEqual(1);
    }
    const limited = await api.put("/api/v1/users/me/password", { token: acct.access, json: wrong });
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe("rate_limited");
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(limited.headers.get("ratelimit-remaining")).toBe("0");
    // Even the right password is refused while limited: guessing cannot go on.
    const right = await api.put("/api/v1/users/me/password", {
      token: acct.access,
      json: { current_password: acct.password, new_password: "new password 123" },
    });
    expect(right.status).toBe(429);
    // Another user is not affected.
    const otherRes = await api.put("/api/v1/users/me/password", {
      token: other.access,
      json: { current_password: other.password, new_password: "new password 123" },
    });
    expect(otherRes.status).toBe(204);
  });

  it("registration and login send RateLimit-* on every response, errors included", async () => {
    const bad = await api.post("/api/v1/auth/token", { json: { username: "nobody_here", password: "wrong password" } });
    expect(bad.status).toBe(401);
    for (const res of [bad, await api.post("/api/v1/users", { json: {} })]) {
      expect(res.headers.get("ratelimit-limit")).toBe("1000");
      expect(Number(res.headers.get("ratelimit-remaining"))).toBeLessThan(1000);
      expect(Number(res.headers.get("ratelimit-reset"))).toBeGreaterThanOrEqual(1);
    }
    expect((await api.get("/healthz")).headers.get("ratelimit-limit")).toBeNull();
  });
});

describe("Cache-Control", () => {
  it("private, no-cache on authenticated responses (errors too); no-store on token responses", async () => {
    const acct = await newAccount(api);
    expect((await api.get("/api/v1/users/me", { token: acct.access })).headers.get("cache-control")).toBe(
      "private, no-cache",
    );
    expect((await api.get("/api/v1/todos/999999", { token: acct.access })).headers.get("cache-control")).toBe(
      "private, no-cache",
    );
    const login = await api.post("/api/v1/auth/token", { json: { username: acct.username, password: acct.password } });
    expect(login.headers.get("cache-control")).toBe("no-store");
    const refreshed = await api.post("/api/v1/auth/refresh", { json: { refresh_token: login.body.refresh_token } });
    expect(refreshed.headers.get("cache-control")).toBe("no-store");
  });
});
