import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../support/database.js";
import {
  client,
  newAccount,
  startTestApp,
  uniqueName,
  type Client,
  type TestApp,
} from "../../harness/support/app-harness.js";

let app: TestApp;
let api: Client;
let drop: () => Promise<void>;

beforeAll(async () => {
  const db = await createTestDatabase();
  drop = db.drop;
  app = await startTestApp({ databaseUrl: db.url });
  api = client(app.url);
});

afterAll(async () => {
  await app?.close();
  await drop?.();
});

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe("POST /api/v1/users", () => {
  it("registers: 201, Location, User shape without password, email lower-cased", async () => {
    const username = uniqueName("Reg");
    const res = await api.post("/api/v1/users", {
      json: { username, email: `${username}@Example.COM`, password: "password123", full_name: "Ann Example" },
    });
    expect(res.status).toBe(201);
    expect(res.headers.get("location")).toBe("/api/v1/users/me");
    expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(Object.keys(res.body).sort()).toEqual([
      "created_at",
      "email",
      "email_verified",
      "full_name",
      "id",
      "role",
      "username",
    ]);
    expect(res.body).toMatchObject({
      username,
      email: `${username.toLowerCase()}@example.com`,
      full_name: "Ann Example",
    });
    expect(Number.isInteger(res.body.id)).toBe(true);
    expect(res.body.created_at).toMatch(ISO_UTC);
    expect(res.text).not.toContain("password");
  });

  it("full_name is optional and null when absent", async () => {
    const username = uniqueName();
    const res = await api.post("/api/v1/users", {
      json: { username, email: `${username}@example.com`, password: "password123" },
    });
    expect(res.status).toBe(201);
    expect(res.body.full_name).toBeNull();
  });

  it("409 when the username is taken, case-insensitively", async () => {
    const username = uniqueName("dup");
    await api.post("/api/v1/users", { json: { username, email: `${username}@example.com`, password: "password123" } });
    const res = await api.post("/api/v1/users", {
      json: { username: username.toUpperCase(), email: `other_${username}@example.com`, password: "password123" },
    });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe("conflict");
    expect(res.body.error.details).toEqual([{ path: "username", message: expect.any(String) }]);
  });

  it("409 when the email is taken, case-insensitively", async () => {
    const username = uniqueName();
    await api.post("/api/v1/users", { json: { username, email: `${username}@example.com`, password: "password123" } });
    const res = await api.post("/api/v1/users", {
      json: { username: uniqueName(), email: `${username.toUpperCase()}@EXAMPLE.com`, password: "password123" },
    });
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({ code: "conflict", details: [{ path: "email" }] });
  });

  it.each([
    ["username too short", { username: "ab" }, "username"],
    ["username too long", { username: "a".repeat(51) }, "username"],
    ["username with a space", { username: "bad name" }, "username"],
    ["username with @", { username: "bad@name" }, "username"],
    ["invalid email", { email: "not-an-email" }, "email"],
    ["password too short", { password: "short7!" }, "password"],
    ["password too long", { password: "p".repeat(129) }, "password"],
    ["full_name not a string", { full_name: 5 }, "full_name"],
    ["unknown field", { is_admin: true }, "is_admin"],
  ])("422 for %s", async (_name, patch, path) => {
    const username = uniqueName();
    const body = { username, email: `${username}@example.com`, password: "password123", ...patch };
    const res = await api.post("/api/v1/users", { json: body });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe("validation_failed");
    expect(res.body.error.details.map((d: { path: string }) => d.path)).toEqual([path]);
  });

  it("422 lists every failing field, including missing ones", async () => {
    const res = await api.post("/api/v1/users", { json: { username: "x" } });
    expect(res.status).toBe(422);
    const paths = res.body.error.details.map((d: { path: string }) => d.path).sort();
    expect(paths).toEqual(["email", "password", "username"]);
    expect(res.body.error.details.find((d: { path: string }) => d.path === "email").message).toBe("is required");
  });

  it("accepts the boundaries: 3 and 50 character usernames, 8 and 128 character passwords", async () => {
    const short = `a${uniqueName("").slice(-2)}`.slice(0, 3);
    for (const [username, password] of [
      [short, "p".repeat(8)],
      [(uniqueName("l") + "x".repeat(50)).slice(0, 50), "p".repeat(128)],
    ] as const) {
      const res = await api.post("/api/v1/users", { json: { username, email: `${username}@example.com`, password } });
      expect(res.status, res.text).toBe(201);
      const login = await api.post("/api/v1/auth/token", { json: { username, password } });
      expect(login.status).toBe(200);
    }
  });
});

describe("POST /api/v1/auth/token", () => {
  it("logs in with form data (OAuth2 password grant) and with JSON; Token shape", async () => {
    const acct = await newAccount(api);
    const form = await api.post("/api/v1/auth/token", {
      form: { grant_type: "password", username: acct.username, password: acct.password },
    });
    expect(form.status).toBe(200);
    expect(Object.keys(form.body).sort()).toEqual(["access_token", "expires_in", "refresh_token", "token_type"]);
    expect(form.body).toMatchObject({ token_type: "bearer", expires_in: 900 });
    const json = await api.post("/api/v1/auth/token", { json: { username: acct.username, password: acct.password } });
    expect(json.status).toBe(200);
    expect(json.body.access_token).not.toBe(
      form.body.access_token === json.body.access_token ? "" : form.body.access_token,
    );
    expect(json.body.refresh_token).not.toBe(form.body.refresh_token);
  });

  it("accepts the email (any case) or the username in any case", async () => {
    const acct = await newAccount(api);
    for (const username of [acct.email, acct.email.toUpperCase(), acct.username.toUpperCase()]) {
      const res = await api.post("/api/v1/auth/token", { form: { username, password: acct.password } });
      expect(res.status, username).toBe(200);
    }
  });

  it("wrong password and unknown user give the same 401 body with WWW-Authenticate", async () => {
    const acct = await newAccount(api);
    const wrongPassword = await api.post("/api/v1/auth/token", {
      form: { username: acct.username, password: "wrong-password" },
    });
    const unknownUser = await api.post("/api/v1/auth/token", {
      form: { username: uniqueName("ghost"), password: "wrong-password" },
    });
    expect(wrongPassword.status).toBe(401);
    expect(unknownUser.status).toBe(401);
    expect(wrongPassword.body).toEqual(unknownUser.body);
    expect(wrongPassword.body.error.code).toBe("unauthorized");
    expect(wrongPassword.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect(unknownUser.headers.get("www-authenticate")).toMatch(/^Bearer/);
  });

  it("422 for missing fields, unknown fields, or a grant type other than password", async () => {
    const missing = await api.post("/api/v1/auth/token", { form: { username: "someone" } });
    expect(missing.status).toBe(422);
    expect(missing.body.error.details).toEqual([{ path: "password", message: "is required" }]);
    const unknown = await api.post("/api/v1/auth/token", { json: { username: "a", password: "b", remember: true } });
    expect(unknown.status).toBe(422);
    expect(unknown.body.error.details).toEqual([{ path: "remember", message: expect.any(String) }]);
    const grant = await api.post("/api/v1/auth/token", {
      form: { grant_type: "client_credentials", username: "a", password: "b" },
    });
    expect(grant.status).toBe(422);
    expect(grant.body.error.details[0].path).toBe("grant_type");
  });

  it("400 for another content type or no body", async () => {
    const text = await api.post("/api/v1/auth/token", {
      body: "username=a&password=b",
      headers: { "content-type": "text/plain" },
    });
    expect(text.status).toBe(400);
    expect(text.body.error.code).toBe("bad_request");
    const none = await api.post("/api/v1/auth/token");
    expect(none.status).toBe(400);
    expect(none.body.error.code).toBe("bad_request");
  });
});

describe("/api/v1/users/me", () => {
  it("GET returns the caller; 401 without or with a malformed Authorization header", async () => {
    const acct = await newAccount(api);
    const me = await api.get("/api/v1/users/me", { token: acct.access });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ id: acct.id, username: acct.username, email: acct.email, full_name: null });
    for (const headers of [
      {},
      { authorization: "Basic abc" },
      { authorization: "Bearer" },
      { authorization: `Bearer ${acct.access} extra` },
      { authorization: "Bearer not.a.jwt" },
    ] as Record<string, string>[]) {
      const res = await api.get("/api/v1/users/me", { headers });
      expect(res.status, JSON.stringify(headers)).toBe(401);
      expect(res.body.error.code).toBe("unauthorized");
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
    }
  });

  it("PATCH changes email (lower-cased) and full_name, which may be set to null", async () => {
    const acct = await newAccount(api);
    const newEmail = `New_${acct.username}@Example.com`;
    // v1.1: a new email needs the current password.
    const set = await api.patch("/api/v1/users/me", {
      token: acct.access,
      json: { email: newEmail, full_name: "Full Name", current_password: acct.password },
    });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ email: newEmail.toLowerCase(), full_name: "Full Name", username: acct.username });
    const cleared = await api.patch("/api/v1/users/me", { token: acct.access, json: { full_name: null } });
    expect(cleared.status).toBe(200);
    expect(cleared.body.full_name).toBeNull();
    expect(cleared.body.email).toBe(newEmail.toLowerCase());
    const login = await api.post("/api/v1/auth/token", { form: { username: newEmail, password: acct.password } });
    expect(login.status).toBe(200);
  });

  it("PATCH: 409 for an email in use, 422 for a bad email or unknown field (username cannot change)", async () => {
    const a = await newAccount(api);
    const b = await newAccount(api);
    const taken = await api.patch("/api/v1/users/me", {
      token: a.access,
      json: { email: b.email.toUpperCase(), current_password: a.password },
    });
    expect(taken.status).toBe(409);
    const bad = await api.patch("/api/v1/users/me", { token: a.access, json: { email: "nope" } });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details[0].path).toBe("email");
    const unknown = await api.patch("/api/v1/users/me", { token: a.access, json: { username: "renamed" } });
    expect(unknown.status).toBe(422);
    expect(unknown.body.error.details[0].path).toBe("username");
  });

  it("PUT password: 204, old password stops working, every refresh token is revoked", async () => {
    const acct = await newAccount(api);
    const second = await api.post("/api/v1/auth/token", { form: { username: acct.username, password: acct.password } });
    const res = await api.put("/api/v1/users/me/password", {
      token: acct.access,
      json: { current_password: acct.password, new_password: "a brand new password" },
    });
    expect(res.status).toBe(204);
    expect(res.text).toBe("");
    expect(
      (await api.post("/api/v1/auth/token", { form: { username: acct.username, password: acct.password } })).status,
    ).toBe(401);
    expect(
      (await api.post("/api/v1/auth/token", { form: { username: acct.username, password: "a brand new password" } }))
        .status,
    ).toBe(200);
    for (const refresh of [acct.refresh, second.body.refresh_token]) {
      const r = await api.post("/api/v1/auth/refresh", { json: { refresh_token: refresh } });
      expect(r.status).toBe(401);
    }
  });

  it("PUT password: wrong current password is 422 on current_password; short new password is 422", async () => {
    const acct = await newAccount(api);
    const wrong = await api.put("/api/v1/users/me/password", {
      token: acct.access,
      json: { current_password: "not it at all", new_password: "another password" },
    });
    expect(wrong.status).toBe(422);
    expect(wrong.body.error.details).toEqual([{ path: "current_password", message: expect.any(String) }]);
    const short = await api.put("/api/v1/users/me/password", {
      token: acct.access,
      json: { current_password: acct.password, new_password: "short" },
    });
    expect(short.status).toBe(422);
    expect(short.body.error.details[0].path).toBe("new_password");
    expect((await api.post("/api/v1/auth/refresh", { json: { refresh_token: acct.refresh } })).status).toBe(200);
  });

  it("DELETE: 204; todos and tokens go; the access token stops working at once on every route", async () => {
    const acct = await newAccount(api);
    const todo = await api.post("/api/v1/todos", { token: acct.access, json: { title: "doomed" } });
    expect(todo.status).toBe(201);
    const del = await api.delete("/api/v1/users/me", { token: acct.access });
    expect(del.status).toBe(204);
    const t = acct.access;
    const id = todo.body.id;
    const attempts = [
      await api.get("/api/v1/users/me", { token: t }),
      await api.patch("/api/v1/users/me", { token: t, json: { full_name: "x" } }),
      await api.put("/api/v1/users/me/password", {
        token: t,
        json: { current_password: acct.password, new_password: "whatever123" },
      }),
      await api.delete("/api/v1/users/me", { token: t }),
      await api.get("/api/v1/todos", { token: t }),
      await api.get("/api/v1/todos?offset=50", { token: t }),
      await api.post("/api/v1/todos", { token: t, json: { title: "ghost" } }),
      await api.get(`/api/v1/todos/${id}`, { token: t }),
      await api.patch(`/api/v1/todos/${id}`, { token: t, json: { title: "x" } }),
      await api.delete(`/api/v1/todos/${id}`, { token: t }),
      await api.post(`/api/v1/todos/${id}/complete`, { token: t }),
      await api.post(`/api/v1/todos/${id}/reopen`, { token: t }),
    ];
    expect(attempts.map((a) => a.status)).toEqual(attempts.map(() => 401));
    expect((await api.post("/api/v1/auth/refresh", { json: { refresh_token: acct.refresh } })).status).toBe(401);
    expect(
      (await api.post("/api/v1/auth/token", { form: { username: acct.username, password: acct.password } })).status,
    ).toBe(401);
    // The username is free again.
    const again = await api.post("/api/v1/users", {
      json: { username: acct.username, email: acct.email, password: acct.password },
    });
    expect(again.status).toBe(201);
    expect(again.body.id).not.toBe(acct.id);
    // ...and the old token does not grant access to the new account with the same name.
    expect((await api.get("/api/v1/users/me", { token: t })).status).toBe(401);
  });
});
