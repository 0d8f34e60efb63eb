import SwaggerParser from "@apidevtools/swagger-parser";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../support/database.js";
import {
  call,
  client,
  newAccount,
  startTestApp,
  TEST_JWT_SECRET,
  type Client,
  type TestApp,
} from "../../harness/support/app-harness.js";

let app: TestApp;
let api: Client;
let dbUrl: string;
let drop: () => Promise<void>;

beforeAll(async () => {
  const db = await createTestDatabase();
  drop = db.drop;
  dbUrl = db.url;
  app = await startTestApp({ databaseUrl: db.url });
  api = client(app.url);
});

afterAll(async () => {
  await app?.close();
  await drop?.();
});

describe("health", () => {
  it("/healthz and /readyz answer 200 {status: ok}", async () => {
    for (const path of ["/healthz", "/readyz"]) {
      const res = await api.get(path);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ status: "ok" });
    }
  });
});

describe("errors", () => {
  it("unknown routes are 404, undeclared methods of known paths 405 with Allow, both with the error shape", async () => {
    for (const [method, path] of [
      ["GET", "/nope"],
      ["GET", "/api/v1/todo"],
      ["GET", "/api/v1/users/"],
    ] as const) {
      const res = await call(app.url, method, path);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.body).toEqual({ error: { code: "not_found", message: expect.any(String) } });
      expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
    }
    for (const [method, path, allow] of [
      ["POST", "/api/v1/users/me", "DELETE, GET, HEAD, PATCH"],
      ["PUT", "/api/v1/todos", "GET, HEAD, POST"],
    ] as const) {
      const res = await call(app.url, method, path);
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(res.headers.get("allow")).toBe(allow);
      expect(res.body).toEqual({ error: { code: "method_not_allowed", message: expect.any(String) } });
    }
  });

  it("413 for a body over 64 KiB (declared length), before it is parsed", async () => {
    const acct = await newAccount(api);
    const big = JSON.stringify({ title: "x".repeat(64 * 1024) });
    const res = await api.post("/api/v1/todos", {
      token: acct.access,
      body: big,
      headers: { "content-type": "application/json" },
    });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe("payload_too_large");
    // Not even valid JSON: still 413 (the limit comes before parsing).
    const garbage = await api.post("/api/v1/users", {
      body: "{".repeat(70 * 1024),
      headers: { "content-type": "application/json" },
    });
    expect(garbage.status).toBe(413);
    // Just under the limit is parsed and validated instead.
    const under = await api.post("/api/v1/todos", { token: acct.access, json: { title: "x".repeat(60 * 1024) } });
    expect(under.status).toBe(422);
  });

  it("413 for a chunked body (no Content-Length) once it passes 64 KiB", async () => {
    const chunk = new TextEncoder().encode("x".repeat(16 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 8) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const res = await fetch(`${app.url}/api/v1/users`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: stream,
      duplex: "half",
    } as RequestInit & { duplex: "half" });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("payload_too_large");
  });
});

describe("X-Request-Id", () => {
  it("echoes a valid incoming id on success and on errors", async () => {
    for (const path of ["/healthz", "/nope", "/api/v1/users/me"]) {
      const res = await api.get(path, { headers: { "x-request-id": "mobile-1234.abcd" } });
      expect(res.headers.get("x-request-id")).toBe("mobile-1234.abcd");
    }
  });

  it("replaces an invalid one and generates one when absent", async () => {
    const bad = await api.get("/healthz", { headers: { "x-request-id": "has spaces and <html>" } });
    const long = await api.get("/healthz", { headers: { "x-request-id": "a".repeat(200) } });
    const none = await api.get("/healthz");
    const none2 = await api.get("/healthz");
    for (const res of [bad, long, none, none2]) expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    expect(none.headers.get("x-request-id")).not.toBe(none2.headers.get("x-request-id"));
  });
});

describe("security headers and CORS", () => {
  it("sends secure headers and no CORS headers when CORS_ORIGINS is empty", async () => {
    const res = await api.get("/healthz", { headers: { origin: "https://evil.example" } });
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("x-frame-options")).toBeTruthy();
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    const preflight = await call(app.url, "OPTIONS", "/api/v1/todos", {
      headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
    });
    expect(preflight.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("allows exactly the configured origins when CORS_ORIGINS is set", async () => {
    const corsApp = await startTestApp({ databaseUrl: dbUrl, env: { CORS_ORIGINS: "https://app.example.com" } });
    try {
      const preflight = await call(corsApp.url, "OPTIONS", "/api/v1/todos", {
        headers: {
          origin: "https://app.example.com",
          "access-control-request-method": "POST",
          "access-control-request-headers": "authorization,content-type",
        },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
      expect(preflight.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
      const other = await call(corsApp.url, "GET", "/healthz", { headers: { origin: "https://evil.example" } });
      expect(other.headers.get("access-control-allow-origin")).toBeNull();
      const ok = await call(corsApp.url, "GET", "/healthz", { headers: { origin: "https://app.example.com" } });
      expect(ok.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
      expect(ok.headers.get("access-control-expose-headers")).toContain("X-Request-Id");
    } finally {
      await corsApp.close();
    }
  });
});

describe("OpenAPI document and docs", () => {
  it("/openapi.json is a valid OpenAPI 3.1 document describing every route of the contract", async () => {
    const res = await api.get("/openapi.json");
    expect(res.status).toBe(200);
    const doc = res.body;
    expect(doc.openapi).toBe("3.1.0");
    await SwaggerParser.validate(structuredClone(doc));
    const ops = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([p, item]) =>
      Object.keys(item).map((m) => `${m.toUpperCase()} ${p}`),
    );
    expect(ops.sort()).toEqual(
      [
        "GET /healthz",
        "GET /readyz",
        "POST /api/v1/users",
        "POST /api/v1/auth/token",
        "POST /api/v1/auth/refresh",
        "POST /api/v1/auth/logout",
        "GET /api/v1/users/me",
        "PATCH /api/v1/users/me",
        "PUT /api/v1/users/me/password",
        "DELETE /api/v1/users/me",
        "POST /api/v1/todos",
        "GET /api/v1/todos",
        "GET /api/v1/todos/{id}",
        "PATCH /api/v1/todos/{id}",
        "DELETE /api/v1/todos/{id}",
        "POST /api/v1/todos/{id}/complete",
        "POST /api/v1/todos/{id}/reopen",
        "GET /api/v1/todos/changes",
        "POST /api/v1/auth/password-reset",
        "POST /api/v1/auth/password-reset/confirm",
        "POST /api/v1/users/me/email-verification",
        "POST /api/v1/auth/verify-email",
        "POST /api/v1/todos/batch",
        "GET /api/v1/admin/users",
        "GET /api/v1/admin/users/{id}",
        "POST /api/v1/admin/users/{id}/disable",
        "POST /api/v1/admin/users/{id}/enable",
        "POST /api/v1/admin/users/{id}/revoke-sessions",
        "POST /api/v1/admin/users/{id}/role",
        "DELETE /api/v1/admin/users/{id}",
        "POST /api/v1/todos/{id}/attachments",
        "POST /api/v1/attachments/{id}/complete",
        "GET /api/v1/attachments/{id}/content",
        "DELETE /api/v1/attachments/{id}",
        "GET /api/v1/admin/stats",
        "GET /api/v1/admin/audit",
      ].sort(),
    );
    // Every admin route says it needs a bearer token and that a non-admin gets 403.
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      if (!path.startsWith("/api/v1/admin/")) continue;
      for (const op of Object.values(item)) {
        expect(op.security, path).toEqual([{ bearerAuth: [] }]);
        expect(Object.keys(op.responses), path).toEqual(expect.arrayContaining(["401", "403"]));
      }
    }
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
    expect(doc.components.securitySchemes.oauth2.flows.password.tokenUrl).toBe("/api/v1/auth/token");
    const token = doc.paths["/api/v1/auth/token"].post;
    expect(Object.keys(token.requestBody.content)).toEqual(["application/x-www-form-urlencoded"]);
    expect(doc.paths["/api/v1/todos"].get.security).toEqual([{ bearerAuth: [] }]);
    expect(doc.paths["/api/v1/users"].post.security).toEqual([]);
    expect(Object.keys(doc.paths["/api/v1/todos"].post.responses).sort()).toEqual([
      "201",
      "400",
      "401",
      "409",
      "413",
      "422",
      "429",
      "500",
      "503",
    ]);
    // Every authenticated operation is limited per account: 429, and the RateLimit-* headers.
    expect(doc.paths["/api/v1/todos"].get.responses["200"].headers["RateLimit-Remaining"]).toMatchObject({
      required: false,
    });
    expect(doc.paths["/api/v1/todos"].get.responses["401"].headers["RateLimit-Remaining"]).toBeUndefined();
    expect(doc.components.schemas.ErrorBody).toBeDefined();
    const queryParams = doc.paths["/api/v1/todos"].get.parameters.map((p: { name: string }) => p.name).sort();
    expect(queryParams).toEqual(["completed", "limit", "offset", "sort"]);
  });

  it("/docs serves Swagger UI from this server (no CDN) and its password flow logs in", async () => {
    const html = await fetch(`${app.url}/docs`);
    expect(html.status).toBe(200);
    const text = await html.text();
    expect(text).toContain("/docs/swagger-ui-bundle.js");
    expect(text).not.toMatch(/https?:\/\//);
    expect(html.headers.get("content-security-policy")).toContain("script-src 'self'");
    for (const [file, type] of [
      ["/docs/swagger-ui-bundle.js", "text/javascript"],
      ["/docs/swagger-ui.css", "text/css"],
      ["/docs/init.js", "text/javascript"],
    ]) {
      const res = await fetch(`${app.url}${file}`);
      expect(res.status, file).toBe(200);
      expect(res.headers.get("content-type")).toContain(type);
      expect((await res.text()).length).toBeGreaterThan(100);
    }
    // What Swagger UI's "Authorize" sends for the password flow (client id in the body, empty scope).
    const acct = await newAccount(api);
    const login = await api.post("/api/v1/auth/token", {
      form: { grant_type: "password", username: acct.username, password: acct.password, scope: "", client_id: "" },
    });
    expect(login.status).toBe(200);
    // Swagger UI's default "client credentials location: basic" sends an empty Basic header instead.
    const basic = await api.post("/api/v1/auth/token", {
      form: { grant_type: "password", scope: "", username: acct.username, password: acct.password },
      headers: { authorization: `Basic ${Buffer.from(":").toString("base64")}` },
    });
    expect(basic.status).toBe(200);
  });
});

describe("500 internal", () => {
  it("never leaks a stack trace or SQL, and is logged with the request id", async () => {
    const acct = await newAccount(api);
    const sql = new pg.Client({ connectionString: dbUrl });
    await sql.connect();
    try {
      await sql.query("alter table todos rename to todos_gone");
      const res = await api.get("/api/v1/todos", { token: acct.access, headers: { "x-request-id": "trace-500" } });
      expect(res.status).toBe(500);
      expect(res.body).toEqual({ error: { code: "internal", message: expect.any(String) } });
      expect(res.text).not.toMatch(/select|todos|relation|at \w+ \(/i);
      const logged = app.logs
        .map((l) => JSON.parse(l))
        .find((l) => l.req_id === "trace-500" && l.msg === "unhandled error");
      expect(logged?.err?.message).toContain("todos");
    } finally {
      await sql.query("alter table todos_gone rename to todos");
      await sql.end();
    }
  });
});

describe("logs", () => {
  it("one JSON line per request with id, method, route, status, latency — and no secrets", async () => {
    const acct = await newAccount(api);
    const refreshed = await api.post("/api/v1/auth/refresh", { json: { refresh_token: acct.refresh } });
    await api.put("/api/v1/users/me/password", {
      token: acct.access,
      json: { current_password: acct.password, new_password: "n3w-secret-passphrase" },
    });
    const todo = await api.post("/api/v1/todos", {
      token: refreshed.body.access_token,
      json: { title: "log me" },
      headers: { "x-request-id": "log-check" },
    });
    const lines = app.logs.map((l) => JSON.parse(l));
    const line = lines.find((l) => l.req_id === "log-check" && l.msg === "request");
    expect(line).toMatchObject({ method: "POST", route: "/api/v1/todos", status: 201 });
    expect(typeof line.latency_ms).toBe("number");
    const get = await api.get(`/api/v1/todos/${todo.body.id}`, {
      token: refreshed.body.access_token,
      headers: { "x-request-id": "route-check" },
    });
    expect(get.status).toBe(200);
    expect(app.logs.map((l) => JSON.parse(l)).find((l) => l.req_id === "route-check").route).toBe("/api/v1/todos/:id");
    const all = app.logs.join("\n");
    for (const secret of [
      acct.password,
      "n3w-secret-passphrase",
      acct.access,
      acct.refresh,
      refreshed.body.access_token,
      refreshed.body.refresh_token,
      TEST_JWT_SECRET,
    ]) {
      expect(all).not.toContain(secret);
    }
    expect(all.toLowerCase()).not.toContain("bearer ");
  });
});
