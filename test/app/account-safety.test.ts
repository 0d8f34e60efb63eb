import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiSuite } from "../support/api-suite.js";
import { createTestDatabase } from "../support/database.js";
import { client, newAccount, startTestApp, uniqueName, type Client } from "../../harness/support/app-harness.js";
import { startSmtpSink, tokenIn, type SmtpSink } from "../../harness/support/smtp-sink.js";

/**
 * Sessions, codes and limits that an attacker (or an unlucky client) could otherwise bend: one
 * successor per retired refresh token, reset codes that die with a password or e-mail change,
 * ASCII-only case folding of login names, limits that say what applies, and no caching of
 * anything a shared cache must not keep.
 */
let smtp: SmtpSink;
beforeAll(async () => {
  smtp = await startSmtpSink();
});
afterAll(() => smtp?.close());
const suite = apiSuite(() => ({
  env: { SMTP_URL: smtp.url, MAIL_FROM: "Todo <no-reply@todo.example>", PASSWORD_RATE_LIMIT_PER_MINUTE: "3" },
  now: () => Math.floor(Date.now() / 60_000) * 60_000 + 30_000,
}));
const { api } = suite;

/** A server with its own database: its rate-limit buckets are not shared with the suite's. */
async function limitedApp(env: Record<string, string>) {
  const db = await createTestDatabase();
  const app = await startTestApp({
    databaseUrl: db.url,
    env: { SMTP_URL: smtp.url, MAIL_FROM: "no-reply@todo.example", ...env },
    now: () => Math.floor(Date.now() / 60_000) * 60_000 + 30_000,
  });
  return {
    url: app.url,
    close: async () => {
      await app.close();
      await db.drop();
    },
  };
}

const refresh = (c: Client, token: string) => c.post("/api/v1/auth/refresh", { json: { refresh_token: token } });

async function resetCode(email: string): Promise<string> {
  const since = smtp.mails.length;
  expect((await api.post("/api/v1/auth/password-reset", { json: { email } })).status).toBe(202);
  return tokenIn(await smtp.waitFor(email, since, "reset"));
}

describe("a retired refresh token presented again within the grace window", () => {
  it("yields one successor, however often and however parallel", async () => {
    const acct = await newAccount(api);
    const results = await Promise.all([1, 2, 3, 4, 5].map(() => refresh(api, acct.refresh)));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    const successors = new Set(results.map((r) => r.body.refresh_token));
    expect(successors.size).toBe(1);
    // The one successor works, once; its own successor retires it like any token.
    const [successor] = [...successors];
    const next = await refresh(api, successor!);
    expect(next.status).toBe(200);
    // Once the successor has been used, the retired token cannot branch the login again.
    const late = await refresh(api, acct.refresh);
    expect(late.status).toBe(401);
    expect((await refresh(api, next.body.refresh_token)).status).toBe(401);
  });
});

describe("a password-reset code requested before a change", () => {
  it("stops working after the password is changed", async () => {
    const acct = await newAccount(api);
    const code = await resetCode(acct.email);
    const changed = await api.put("/api/v1/users/me/password", {
      token: acct.access,
      json: { current_password: acct.password, new_password: "a changed password" },
    });
    expect(changed.status).toBe(204);
    const confirm = await api.post("/api/v1/auth/password-reset/confirm", {
      json: { token: code, new_password: "attacker password" },
    });
    expect(confirm.status).toBe(400);
    expect(confirm.body.error.code).toBe("invalid_token");
  });

  it("stops working after the e-mail address is changed (it went to the old address)", async () => {
    const acct = await newAccount(api);
    const code = await resetCode(acct.email);
    const moved = await api.patch("/api/v1/users/me", {
      token: acct.access,
      json: { email: `${uniqueName("moved")}@example.com`, current_password: acct.password },
    });
    expect(moved.status).toBe(200);
    const confirm = await api.post("/api/v1/auth/password-reset/confirm", {
      json: { token: code, new_password: "attacker password" },
    });
    expect(confirm.status).toBe(400);
  });
});

describe("login names fold case over ASCII only", () => {
  it("the Kelvin sign (U+212A) and other look-alikes never log into the ASCII account", async () => {
    const password = "correct horse battery";
    const username = `kate_${uniqueName("k").slice(2)}`;
    expect(
      (await api.post("/api/v1/users", { json: { username, email: `${username}@example.com`, password } })).status,
    ).toBe(201);
    const login = (name: string) => api.post("/api/v1/auth/token", { json: { username: name, password } });
    expect((await login(username)).status).toBe(200);
    expect((await login(username.toUpperCase())).status).toBe(200);
    expect((await login(`${username}@EXAMPLE.com`)).status).toBe(200);
    const kelvin = `\u212A${username.slice(1)}`; // K KELVIN SIGN: lower-cases to an ASCII k in JS
    const fullwidth = `\uFF4B${username.slice(1)}`; // FULLWIDTH k: NFKC-normalises to k
    for (const lookalike of [
      kelvin,
      `${kelvin}@example.com`,
      fullwidth,
      username.toUpperCase().replace("K", "\u212A"),
    ]) {
      const res = await login(lookalike);
      expect(res.status, lookalike).toBe(401);
    }
    // The same rule for the e-mail address of a reset: the look-alike asks for nobody's code.
    const since = smtp.mails.length;
    await api.post("/api/v1/auth/password-reset", { json: { email: `\u212A${username.slice(1)}@example.com` } });
    await new Promise((r) => setTimeout(r, 600));
    expect(smtp.mails.slice(since).some((m) => m.raw.includes("Reset") && m.to.some((t) => t.includes(username)))).toBe(
      false,
    );
  });
});

describe("the password limiter", () => {
  it("does not share its budget with e-mail changes", async () => {
    const acct = await newAccount(api);
    // Use up the e-mail change budget (3 a minute here) with wrong passwords.
    for (let i = 0; i < 4; i++)
      await api.patch("/api/v1/users/me", {
        token: acct.access,
        json: { email: `${uniqueName("e")}@example.com`, current_password: "wrong password" },
      });
    const change = await api.put("/api/v1/users/me/password", {
      token: acct.access,
      json: { current_password: acct.password, new_password: "a changed password" },
    });
    expect(change.status).toBe(204);
  });
});

describe("RateLimit-* on password-reset", () => {
  it("describe the budget that applies: ten requests to ten addresses count down, the eleventh is announced", async () => {
    const limited = await limitedApp({ RATE_LIMIT_PER_MINUTE: "10" });
    try {
      const c = client(limited.url);
      const remaining: Array<string | null> = [];
      for (let i = 0; i < 10; i++) {
        const res = await c.post("/api/v1/auth/password-reset", { json: { email: `${uniqueName("r")}@example.com` } });
        expect(res.status).toBe(202);
        remaining.push(res.headers.get("ratelimit-remaining"));
      }
      expect(remaining).toEqual(["9", "8", "7", "6", "5", "4", "3", "2", "1", "0"]);
      const eleventh = await c.post("/api/v1/auth/password-reset", {
        json: { email: `${uniqueName("r")}@example.com` },
      });
      expect(eleventh.status).toBe(429);
      expect(eleventh.headers.get("ratelimit-remaining")).toBe("0");
    } finally {
      await limited.close();
    }
  });

  it("one address asked for from many clients: the address's smaller budget is the one announced", async () => {
    const limited = await limitedApp({ RATE_LIMIT_PER_MINUTE: "3", TRUSTED_PROXIES: "127.0.0.1" });
    try {
      const c = client(limited.url);
      const target = `${uniqueName("target")}@example.com`;
      const seen: Array<[number, string | null]> = [];
      for (let i = 1; i <= 4; i++) {
        const res = await c.post("/api/v1/auth/password-reset", {
          json: { email: target },
          headers: { "x-forwarded-for": `198.51.100.${i}` },
        });
        seen.push([res.status, res.headers.get("ratelimit-remaining")]);
      }
      expect(seen).toEqual([
        [202, "2"],
        [202, "1"],
        [202, "0"],
        [429, "0"],
      ]);
    } finally {
      await limited.close();
    }
  });
});

describe("Cache-Control where a shared cache must not keep the answer", () => {
  it("a duplicate query parameter on an authenticated route, verify-email's 200, 401s from token and refresh", async () => {
    const since = smtp.mails.length;
    const acct = await newAccount(api);
    const dup = await api.get("/api/v1/todos?limit=1&limit=2", { token: acct.access });
    expect(dup.status).toBe(400);
    expect(dup.headers.get("cache-control")).toBe("no-store");

    const code = tokenIn(await smtp.waitFor(acct.email, since));
    const verified = await api.post("/api/v1/auth/verify-email", { json: { token: code } });
    expect(verified.status).toBe(200);
    expect(verified.headers.get("cache-control")).toBe("no-store");

    const badLogin = await api.post("/api/v1/auth/token", { json: { username: acct.username, password: "wrong one" } });
    expect(badLogin.status).toBe(401);
    expect(badLogin.headers.get("cache-control")).toBe("no-store");
    const badRefresh = await refresh(api, "not-a-refresh-token");
    expect(badRefresh.status).toBe(401);
    expect(badRefresh.headers.get("cache-control")).toBe("no-store");
  });
});
