import { createHash } from "node:crypto";
import { SignJWT, decodeJwt, decodeProtectedHeader } from "jose";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../support/database.js";
import {
  client,
  newAccount,
  startTestApp,
  TEST_AUDIENCE,
  TEST_ISSUER,
  TEST_JWT_SECRET,
  type Client,
  type TestApp,
} from "../../harness/support/app-harness.js";

let app: TestApp;
let api: Client;
let sqlClient: pg.Client;
let drop: () => Promise<void>;

beforeAll(async () => {
  const db = await createTestDatabase();
  drop = db.drop;
  app = await startTestApp({ databaseUrl: db.url });
  api = client(app.url);
  sqlClient = new pg.Client({ connectionString: db.url });
  await sqlClient.connect();
});

afterAll(async () => {
  await sqlClient?.end();
  await app?.close();
  await drop?.();
});

const secret = new TextEncoder().encode(TEST_JWT_SECRET);
const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
const now = () => Math.floor(Date.now() / 1000);

async function sign(claims: Record<string, unknown>, opts: { key?: Uint8Array; alg?: string } = {}) {
  return new SignJWT(claims).setProtectedHeader({ alg: opts.alg ?? "HS256", typ: "JWT" }).sign(opts.key ?? secret);
}

async function expectRejected(token: string) {
  const me = await api.get("/api/v1/users/me", { token });
  expect(me.status).toBe(401);
  expect(me.body.error.code).toBe("unauthorized");
  expect(me.headers.get("www-authenticate")).toMatch(/^Bearer/);
  const todos = await api.get("/api/v1/todos", { token });
  expect(todos.status).toBe(401);
}

describe("access tokens", () => {
  it("are HS256 JWTs with sub, iat, exp (15 minutes), iss and aud", async () => {
    const acct = await newAccount(api);
    expect(decodeProtectedHeader(acct.access).alg).toBe("HS256");
    const claims = decodeJwt(acct.access);
    expect(claims).toMatchObject({ sub: String(acct.id), iss: TEST_ISSUER, aud: TEST_AUDIENCE });
    expect(claims.exp! - claims.iat!).toBe(900);
    expect(Math.abs(claims.iat! - now())).toBeLessThan(60);
  });

  it("a correctly signed token is accepted (control for the forgeries below)", async () => {
    const acct = await newAccount(api);
    const token = await sign({
      sub: String(acct.id),
      iss: TEST_ISSUER,
      aud: TEST_AUDIENCE,
      iat: now(),
      exp: now() + 60,
    });
    expect((await api.get("/api/v1/users/me", { token })).status).toBe(200);
  });

  it('rejects alg "none"', async () => {
    const acct = await newAccount(api);
    const claims = { sub: String(acct.id), iss: TEST_ISSUER, aud: TEST_AUDIENCE, iat: now(), exp: now() + 600 };
    await expectRejected(`${b64url({ alg: "none", typ: "JWT" })}.${b64url(claims)}.`);
    await expectRejected(`${b64url({ alg: "none", typ: "JWT" })}.${b64url(claims)}`);
  });

  it("rejects a tampered payload (bad signature) and a changed signature", async () => {
    const acct = await newAccount(api);
    const other = await newAccount(api);
    const [h, , s] = acct.access.split(".");
    const forgedPayload = b64url({ ...decodeJwt(acct.access), sub: String(other.id) });
    await expectRejected(`${h}.${forgedPayload}.${s}`);
    const flipped = s!.slice(0, -2) + (s!.endsWith("AA") ? "BB" : "AA");
    await expectRejected(`${h}.${acct.access.split(".")[1]}.${flipped}`);
  });

  it("rejects a token signed with another key, and HS512 with the right key (algorithm pinned)", async () => {
    const acct = await newAccount(api);
    const claims = { sub: String(acct.id), iss: TEST_ISSUER, aud: TEST_AUDIENCE, iat: now(), exp: now() + 600 };
    await expectRejected(
      await sign(claims, { key: new TextEncoder().encode("another-secret-another-secret-another-secret!") }),
    );
    await expectRejected(await sign(claims, { alg: "HS512" }));
  });

  it("rejects the wrong issuer, the wrong audience, no expiry, an expired token and a non-numeric subject", async () => {
    const acct = await newAccount(api);
    const base = { sub: String(acct.id), iss: TEST_ISSUER, aud: TEST_AUDIENCE, iat: now(), exp: now() + 600 };
    await expectRejected(await sign({ ...base, iss: "someone-else" }));
    await expectRejected(await sign({ ...base, aud: "other-app" }));
    const { exp: _exp, ...noExp } = base;
    await expectRejected(await sign(noExp));
    await expectRejected(await sign({ ...base, iat: now() - 3600, exp: now() - 1800 }));
    await expectRejected(await sign({ ...base, sub: "admin" }));
  });

  it("a valid token for a user that does not exist is 401, not 404 or an empty list", async () => {
    await expectRejected(
      await sign({ sub: "999999999", iss: TEST_ISSUER, aud: TEST_AUDIENCE, iat: now(), exp: now() + 600 }),
    );
  });
});

describe("refresh tokens", () => {
  it("are ≥ 256-bit opaque strings stored only as a SHA-256 hash", async () => {
    const acct = await newAccount(api);
    expect(Buffer.from(acct.refresh, "base64url").length).toBeGreaterThanOrEqual(32);
    const { rows } = await sqlClient.query("select token_hash from refresh_tokens where user_id = $1", [acct.id]);
    expect(rows).toHaveLength(1);
    expect(rows[0].token_hash).toBe(createHash("sha256").update(acct.refresh).digest("hex"));
    const { rows: leaked } = await sqlClient.query("select 1 from refresh_tokens where token_hash = $1", [
      acct.refresh,
    ]);
    expect(leaked).toHaveLength(0);
  });

  it("refresh returns a new working pair and retires the old refresh token", async () => {
    const acct = await newAccount(api);
    const r1 = await api.post("/api/v1/auth/refresh", { json: { refresh_token: acct.refresh } });
    expect(r1.status).toBe(200);
    expect(r1.body).toMatchObject({ token_type: "bearer", expires_in: 900 });
    expect(r1.body.refresh_token).not.toBe(acct.refresh);
    expect((await api.get("/api/v1/users/me", { token: r1.body.access_token })).status).toBe(200);
    const r2 = await api.post("/api/v1/auth/refresh", { json: { refresh_token: r1.body.refresh_token } });
    expect(r2.status).toBe(200);
  });

  it("reusing a retired refresh token after the grace window is 401 and revokes every token of that login, not other logins", async () => {
    const acct = await newAccount(api);
    const otherLogin = await api.post("/api/v1/auth/token", {
      form: { username: acct.username, password: acct.password },
    });
    const rotated = await api.post("/api/v1/auth/refresh", { json: { refresh_token: acct.refresh } });
    expect(rotated.status).toBe(200);
    // Retired 31 s ago: past the 30 s grace window (v1.1) that refresh-grace.test.ts covers.
    const hash = createHash("sha256").update(acct.refresh).digest("hex");
    await sqlClient.query("update refresh_tokens set used_at = used_at - interval '31 seconds' where token_hash = $1", [
      hash,
    ]);
    const reuse = await api.post("/api/v1/auth/refresh", { json: { refresh_token: acct.refresh } });
    expect(reuse.status).toBe(401);
    expect(reuse.body.error.code).toBe("unauthorized");
    expect(reuse.headers.get("www-authenticate")).toMatch(/^Bearer/);
    // The legitimate-looking successor is dead too: the whole family is revoked.
    expect(
      (await api.post("/api/v1/auth/refresh", { json: { refresh_token: rotated.body.refresh_token } })).status,
    ).toBe(401);
    // Another login of the same user is untouched.
    expect(
      (await api.post("/api/v1/auth/refresh", { json: { refresh_token: otherLogin.body.refresh_token } })).status,
    ).toBe(200);
  });

  it("an unknown or expired refresh token is 401", async () => {
    expect((await api.post("/api/v1/auth/refresh", { json: { refresh_token: "definitely-not-a-token" } })).status).toBe(
      401,
    );
    const acct = await newAccount(api);
    await sqlClient.query("update refresh_tokens set expires_at = now() - interval '1 second' where user_id = $1", [
      acct.id,
    ]);
    expect((await api.post("/api/v1/auth/refresh", { json: { refresh_token: acct.refresh } })).status).toBe(401);
  });

  it("expires after REFRESH_TOKEN_TTL_DAYS (30 by default)", async () => {
    const acct = await newAccount(api);
    const { rows } = await sqlClient.query(
      "select extract(epoch from expires_at - created_at)::float8 as seconds from refresh_tokens where user_id = $1",
      [acct.id],
    );
    expect(Math.round(rows[0].seconds / 86400)).toBe(30);
  });

  it("422 for a missing or extra field, 400 for malformed JSON", async () => {
    const missing = await api.post("/api/v1/auth/refresh", { json: {} });
    expect(missing.status).toBe(422);
    expect(missing.body.error.details).toEqual([{ path: "refresh_token", message: "is required" }]);
    const extra = await api.post("/api/v1/auth/refresh", { json: { refresh_token: "x", access_token: "y" } });
    expect(extra.status).toBe(422);
    const broken = await api.post("/api/v1/auth/refresh", {
      body: "{not json",
      headers: { "content-type": "application/json" },
    });
    expect(broken.status).toBe(400);
    expect(broken.body.error.code).toBe("bad_request");
  });
});

describe("POST /api/v1/auth/logout", () => {
  it("204, ends that login (its refresh tokens stop working), is idempotent, leaves other logins alone", async () => {
    const acct = await newAccount(api);
    const other = await api.post("/api/v1/auth/token", { form: { username: acct.username, password: acct.password } });
    const out = await api.post("/api/v1/auth/logout", { json: { refresh_token: acct.refresh } });
    expect(out.status).toBe(204);
    expect(out.text).toBe("");
    expect((await api.post("/api/v1/auth/refresh", { json: { refresh_token: acct.refresh } })).status).toBe(401);
    expect((await api.post("/api/v1/auth/logout", { json: { refresh_token: acct.refresh } })).status).toBe(204);
    expect((await api.post("/api/v1/auth/logout", { json: { refresh_token: "unknown" } })).status).toBe(204);
    expect((await api.post("/api/v1/auth/refresh", { json: { refresh_token: other.body.refresh_token } })).status).toBe(
      200,
    );
  });

  it("422 without a refresh_token", async () => {
    const res = await api.post("/api/v1/auth/logout", { json: {} });
    expect(res.status).toBe(422);
    expect(res.body.error.details[0].path).toBe("refresh_token");
  });
});
