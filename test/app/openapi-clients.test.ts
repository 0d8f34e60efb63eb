import { runInNewContext } from "node:vm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../support/database.js";
import { type Client, client, newAccount, startTestApp, type TestApp } from "../../harness/support/app-harness.js";

/**
 * The document as the generators need it (v1.2), with the JSON on the wire as v1/v1.1 had it.
 * test/clients/generated-clients.test.ts proves the same with the generated clients themselves.
 */
let app: TestApp;
let withPublicUrl: TestApp;
let api: Client;
let drop: () => Promise<void>;
let doc: any;

beforeAll(async () => {
  const db = await createTestDatabase();
  drop = db.drop;
  app = await startTestApp({ databaseUrl: db.url });
  withPublicUrl = await startTestApp({ databaseUrl: db.url, env: { PUBLIC_URL: "https://api.example.com" } });
  api = client(app.url);
  doc = (await api.get("/openapi.json")).body;
});

afterAll(async () => {
  await app?.close();
  await withPublicUrl?.close();
  await drop?.();
});

/** Every schema object in the document, with where it is. */
function schemas(node: unknown, at = "#"): Array<[string, Record<string, unknown>]> {
  if (typeof node !== "object" || node === null) return [];
  const here: Array<[string, Record<string, unknown>]> =
    "type" in node || "enum" in node ? [[at, node as Record<string, unknown>]] : [];
  return [...here, ...Object.entries(node).flatMap(([k, v]) => schemas(v, `${at}/${k}`))];
}

describe("the OpenAPI document, as generators need it", () => {
  it("the login declares one media type, the OAuth2 form; JSON login still works on the wire", async () => {
    const body = doc.paths["/api/v1/auth/token"].post.requestBody;
    expect(body.required).toBe(true);
    expect(Object.keys(body.content)).toEqual(["application/x-www-form-urlencoded"]);
    expect(doc.components.schemas.LoginRequest).toBeUndefined();
    for (const op of Object.values(doc.paths).flatMap((item) => Object.values(item as object))) {
      expect(Object.keys(op.requestBody?.content ?? { one: 1 })).toHaveLength(1);
    }
    const acct = await newAccount(api);
    for (const login of [
      { json: { username: acct.username, password: acct.password } },
      { form: { username: acct.username, password: acct.password, grant_type: "password" } },
    ]) {
      const res = await api.post("/api/v1/auth/token", login);
      expect(res.status).toBe(200);
      expect(res.body.token_type).toBe("bearer");
    }
  });

  it("a Change is one object with a named type; on the wire an upsert and a tombstone are as before", async () => {
    const change = doc.components.schemas.Change;
    expect(change.type).toBe("object");
    expect(change.required).toEqual(["type"]);
    expect(change.properties.type).toEqual({ $ref: "#/components/schemas/ChangeType" });
    expect(JSON.stringify(doc)).not.toMatch(/"(oneOf|anyOf|discriminator)"/);
    const acct = await newAccount(api);
    const first = await api.get("/api/v1/todos/changes", { token: acct.access });
    const todo = await api.post("/api/v1/todos", { token: acct.access, json: { title: "sync me" } });
    await api.delete(`/api/v1/todos/${todo.body.id}`, { token: acct.access });
    const delta = await api.get(`/api/v1/todos/changes?cursor=${first.body.next_cursor}`, { token: acct.access });
    expect(delta.body.changes).toEqual([
      { type: "delete", id: todo.body.id, deleted_at: expect.any(String), version: 2 },
    ]);
    const all = await api.get("/api/v1/todos/changes", { token: acct.access });
    expect(all.body.changes).toEqual([]);
    const again = await api.post("/api/v1/todos", { token: acct.access, json: { title: "upsert" } });
    const upserts = await api.get(`/api/v1/todos/changes?cursor=${delta.body.next_cursor}`, { token: acct.access });
    expect(upserts.body.changes).toEqual([{ type: "upsert", todo: again.body }]);
  });

  it("protected operations name one scheme, bearer; /docs still logs in through the password flow", async () => {
    const secured = Object.values(doc.paths)
      .flatMap((item) => Object.values(item as object))
      .filter((op) => op.security?.length);
    expect(secured.length).toBeGreaterThan(10);
    for (const op of secured) expect(op.security).toEqual([{ bearerAuth: [] }]);
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
    expect(doc.components.securitySchemes.oauth2.flows.password.tokenUrl).toBe("/api/v1/auth/token");

    // Swagger UI, as init.js configures it: a token from the Authorize dialog (oauth2) goes out as Bearer.
    const init = await (await fetch(`${app.url}/docs/init.js`)).text();
    const acct = await newAccount(api);
    let options: any;
    const window: Record<string, unknown> = {};
    runInNewContext(init, {
      window,
      SwaggerUIBundle: (o: unknown) => {
        options = o;
        return {
          authSelectors: {
            authorized: () => ({ toJS: () => ({ oauth2: { token: { access_token: acct.access } } }) }),
          },
        };
      },
    });
    expect(options.url).toBe("/openapi.json");
    const request = options.requestInterceptor({ url: `${app.url}/api/v1/users/me`, headers: {} });
    expect(request.headers.Authorization).toBe(`Bearer ${acct.access}`);
    const me = await fetch(request.url, { headers: request.headers });
    expect(me.status).toBe(200);
    const pasted = options.requestInterceptor({ url: "/x", headers: { Authorization: "Bearer pasted" } });
    expect(pasted.headers.Authorization).toBe("Bearer pasted");
  });

  it("names no schema a target language reserves, and every enum is a named one with variant names", () => {
    const reserved = ["ErrorResponse", "Error", "Type", "Protocol", "Response", "Result", "Data", "Object", "Any"];
    expect(Object.keys(doc.components.schemas).filter((n) => reserved.includes(n))).toEqual([]);
    expect(doc.components.schemas.ErrorBody.properties.error).toEqual({ $ref: "#/components/schemas/ErrorInfo" });
    const enums = schemas(doc).filter(([, s]) => Array.isArray(s.enum));
    expect(enums.length).toBeGreaterThan(5);
    for (const [at, schema] of enums) {
      expect(at, "an inline enum: generators name it after its context").toMatch(/^#\/components\/schemas\/\w+$/);
      const names = schema["x-enum-varnames"] as string[];
      expect(names, at).toHaveLength((schema.enum as unknown[]).length);
      for (const name of names) expect(name, at).toMatch(/^[A-Z][A-Z0-9_]*$/);
    }
    expect(doc.components.schemas.TodoSort["x-enum-varnames"]).toEqual([
      "CREATED_AT_ASCENDING",
      "CREATED_AT_DESCENDING",
      "DUE_DATE_ASCENDING",
      "DUE_DATE_DESCENDING",
    ]);
  });

  it("servers is the configured public URL, else this origin", async () => {
    expect(doc.servers).toEqual([expect.objectContaining({ url: "/" })]);
    const configured = (await client(withPublicUrl.url).get("/openapi.json")).body;
    expect(configured.servers).toEqual([expect.objectContaining({ url: "https://api.example.com" })]);
  });

  it("declares the limits the server enforces on input", () => {
    const list = doc.paths["/api/v1/todos"].get.parameters;
    const param = (name: string) => list.find((p: { name: string }) => p.name === name).schema;
    expect(param("limit")).toMatchObject({ minimum: 1, maximum: 100 });
    expect(param("offset")).toMatchObject({ minimum: 0, maximum: 2_147_483_647 });
    const update = doc.components.schemas.UpdateTodoRequest;
    expect(update.additionalProperties).toBe(false);
    expect(update.properties.title).toMatchObject({ minLength: 1, maxLength: 200 });
    // Not only white space, and no NUL (the server refuses both).
    const title = new RegExp(update.properties.title.pattern, "u");
    expect(["a", " a b ", "待办"].map((t) => title.test(t))).toEqual([true, true, true]);
    expect(["   ", "a\u0000b"].map((t) => title.test(t))).toEqual([false, false]);
    const id = doc.paths["/api/v1/todos/{id}"].get.parameters.find((p: { name: string }) => p.name === "id");
    expect(id.schema).toMatchObject({ type: "integer", format: "int64", minimum: 1, maximum: 2 ** 53 - 1 });
    expect(update.properties.description).toMatchObject({ maxLength: 2000 });
    expect(update.properties.clear).toMatchObject({ type: "array", maxItems: 2 });
    expect(doc.components.schemas.RegisterRequest.properties.username.pattern).toBeDefined();
    expect(doc.paths["/api/v1/todos/{id}"].patch.requestBody.required).toBe(true);
    const key = doc.paths["/api/v1/todos"].post.parameters.find((p: { name: string }) => p.name === "Idempotency-Key");
    expect(key.schema).toMatchObject({ minLength: 1, maxLength: 255 });
    expect(new RegExp(key.schema.pattern).test(" key")).toBe(false);
    expect(new RegExp(key.schema.pattern).test("key 1")).toBe(true);
    expect(new RegExp(key.schema.pattern).test("clé")).toBe(false);
  });
});

describe("clearing a nullable field by name (clients that cannot send null)", () => {
  it("`clear` sets description and due_date to null and keeps the rest; null itself still clears", async () => {
    const acct = await newAccount(api);
    const todo = await api.post("/api/v1/todos", {
      token: acct.access,
      json: { title: "t", description: "d", due_date: "2026-12-24T18:00:00Z" },
    });
    const cleared = await api.patch(`/api/v1/todos/${todo.body.id}`, {
      token: acct.access,
      json: { clear: ["due_date"], completed: true },
    });
    expect(cleared.status).toBe(200);
    expect(cleared.body).toMatchObject({ title: "t", description: "d", due_date: null, completed: true, version: 2 });
    const byNull = await api.patch(`/api/v1/todos/${todo.body.id}`, {
      token: acct.access,
      json: { description: null },
    });
    expect(byNull.body).toMatchObject({ description: null, version: 3 });
    const nothing = await api.patch(`/api/v1/todos/${todo.body.id}`, { token: acct.access, json: { clear: [] } });
    expect(nothing.body.version).toBe(3);
  });

  it("naming a field in `clear` and giving it a value is a 422 that changes nothing; unknown names too", async () => {
    const acct = await newAccount(api);
    const todo = await api.post("/api/v1/todos", { token: acct.access, json: { title: "t", description: "d" } });
    const both = await api.patch(`/api/v1/todos/${todo.body.id}`, {
      token: acct.access,
      json: { clear: ["description"], description: "new" },
    });
    expect(both.status).toBe(422);
    expect(both.body.error.details).toEqual([{ path: "clear", message: expect.stringContaining("description") }]);
    const unknown = await api.patch(`/api/v1/todos/${todo.body.id}`, {
      token: acct.access,
      json: { clear: ["title"] },
    });
    expect(unknown.status).toBe(422);
    expect((await api.get(`/api/v1/todos/${todo.body.id}`, { token: acct.access })).body).toMatchObject({
      description: "d",
      version: 1,
    });
  });

  it('`clear: ["full_name"]` empties the account\'s full name', async () => {
    const acct = await newAccount(api);
    await api.patch("/api/v1/users/me", { token: acct.access, json: { full_name: "Alice" } });
    const cleared = await api.patch("/api/v1/users/me", { token: acct.access, json: { clear: ["full_name"] } });
    expect(cleared.status).toBe(200);
    expect(cleared.body.full_name).toBeNull();
    const both = await api.patch("/api/v1/users/me", {
      token: acct.access,
      json: { clear: ["full_name"], full_name: "Bob" },
    });
    expect(both.status).toBe(422);
  });
});
