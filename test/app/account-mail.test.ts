import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiSuite } from "../support/api-suite.js";
import { client, freeClosedPort, newAccount, startTestApp, uniqueName } from "../../harness/support/app-harness.js";
import { startSmtpSink, tokenIn, type SmtpSink } from "../../harness/support/smtp-sink.js";

/** v1.1 password reset and e-mail verification, through a real SMTP server in-process. */
let smtp: SmtpSink;
// Registered first: the sink is up before the server that names it, and closed after it.
beforeAll(async () => {
  smtp = await startSmtpSink();
});
afterAll(() => smtp?.close());
const suite = apiSuite(() => ({ env: { SMTP_URL: smtp.url, MAIL_FROM: "Todo <no-reply@todo.example>" } }));
const { api, sql: sqlClient } = suite;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("e-mail verification", () => {
  it("registration mails a code; verify-email marks the address verified, once", async () => {
    const since = smtp.mails.length;
    const acct = await newAccount(api);
    const mail = await smtp.waitFor(acct.email, since);
    expect(mail.from).toBe("no-reply@todo.example");
    expect((await api.get("/api/v1/users/me", { token: acct.access })).body.email_verified).toBe(false);
    const verified = await api.post("/api/v1/auth/verify-email", { json: { token: tokenIn(mail) } });
    expect(verified.status, verified.text).toBe(200);
    expect(verified.body).toMatchObject({ id: acct.id, email: acct.email, email_verified: true });
    expect((await api.get("/api/v1/users/me", { token: acct.access })).body.email_verified).toBe(true);
    const again = await api.post("/api/v1/auth/verify-email", { json: { token: tokenIn(mail) } });
    expect(again.status).toBe(400);
    expect(again.body.error.code).toBe("invalid_token");
    // Only the hash is stored.
    const { rows } = await sqlClient.query("select token_hash from account_tokens where user_id = $1", [acct.id]);
    expect(rows.map((r) => r.token_hash)).not.toContain(tokenIn(mail));
  });

  it("POST /users/me/email-verification sends a new code and retires the old one", async () => {
    const since = smtp.mails.length;
    const acct = await newAccount(api);
    const first = await smtp.waitFor(acct.email, since);
    const mark = smtp.mails.length;
    const res = await api.post("/api/v1/users/me/email-verification", { token: acct.access });
    expect(res.status).toBe(202);
    expect(res.headers.get("ratelimit-limit")).toBeTruthy();
    const second = await smtp.waitFor(acct.email, mark, "Confirm");
    expect(tokenIn(second)).not.toBe(tokenIn(first));
    expect((await api.post("/api/v1/auth/verify-email", { json: { token: tokenIn(first) } })).status).toBe(400);
    expect((await api.post("/api/v1/auth/verify-email", { json: { token: tokenIn(second) } })).status).toBe(200);
  });

  it("changing the email needs the current password, resets email_verified and mails the new address", async () => {
    const since = smtp.mails.length;
    const acct = await newAccount(api);
    const oldMail = await smtp.waitFor(acct.email, since);
    await api.post("/api/v1/auth/verify-email", { json: { token: tokenIn(oldMail) } });
    const newEmail = `${uniqueName("moved")}@example.com`;
    const missing = await api.patch("/api/v1/users/me", { token: acct.access, json: { email: newEmail } });
    expect(missing.status).toBe(422);
    expect(missing.body.error.details).toEqual([
      { path: "current_password", message: "is required to change the email" },
    ]);
    const wrong = await api.patch("/api/v1/users/me", {
      token: acct.access,
      json: { email: newEmail, current_password: "wrong password" },
    });
    expect(wrong.status).toBe(422);
    expect(wrong.body.error.details[0].path).toBe("current_password");
    // The same address (any case), or only the name: no password needed, as in v1.
    expect(
      (
        await api.patch("/api/v1/users/me", {
          token: acct.access,
          json: { email: acct.email.toUpperCase(), full_name: "Al" },
        })
      ).status,
    ).toBe(200);
    const mark = smtp.mails.length;
    const moved = await api.patch("/api/v1/users/me", {
      token: acct.access,
      json: { email: newEmail, current_password: acct.password },
    });
    expect(moved.status, moved.text).toBe(200);
    expect(moved.body).toMatchObject({ email: newEmail, email_verified: false });
    const newMail = await smtp.waitFor(newEmail, mark, "Confirm");
    expect(
      (await api.post("/api/v1/auth/verify-email", { json: { token: tokenIn(newMail) } })).body.email_verified,
    ).toBe(true);
  });
});

describe("password reset", () => {
  it("202 and a code by mail; confirm sets the password, ends every session and retires the code", async () => {
    const acct = await newAccount(api);
    const mark = smtp.mails.length;
    const res = await api.post("/api/v1/auth/password-reset", { json: { email: acct.email.toUpperCase() } });
    expect(res.status).toBe(202);
    const mail = await smtp.waitFor(acct.email, mark, "Reset your Todo password");
    const token = tokenIn(mail);
    const short = await api.post("/api/v1/auth/password-reset/confirm", { json: { token, new_password: "short" } });
    expect(short.status).toBe(422);
    const done = await api.post("/api/v1/auth/password-reset/confirm", {
      json: { token, new_password: "a brand new password" },
    });
    expect(done.status).toBe(204);
    expect((await api.post("/api/v1/auth/refresh", { json: { refresh_token: acct.refresh } })).status).toBe(401);
    expect(
      (await api.post("/api/v1/auth/token", { json: { username: acct.username, password: acct.password } })).status,
    ).toBe(401);
    expect(
      (await api.post("/api/v1/auth/token", { json: { username: acct.username, password: "a brand new password" } }))
        .status,
    ).toBe(200);
    const reused = await api.post("/api/v1/auth/password-reset/confirm", {
      json: { token, new_password: "another new password" },
    });
    expect(reused.status).toBe(400);
    expect(reused.body.error.code).toBe("invalid_token");
  });

  it("a newer request retires the older code; an expired or made-up code is 400 invalid_token", async () => {
    const acct = await newAccount(api);
    let mark = smtp.mails.length;
    await api.post("/api/v1/auth/password-reset", { json: { email: acct.email } });
    const first = tokenIn(await smtp.waitFor(acct.email, mark, "Reset your"));
    mark = smtp.mails.length;
    await api.post("/api/v1/auth/password-reset", { json: { email: acct.email } });
    const second = tokenIn(await smtp.waitFor(acct.email, mark, "Reset your"));
    const confirm = (token: string) =>
      api.post("/api/v1/auth/password-reset/confirm", { json: { token, new_password: "a brand new password" } });
    expect((await confirm(first)).status).toBe(400);
    await sqlClient.query(
      "update account_tokens set expires_at = now() - interval '1 second' where user_id = $1 and used_at is null",
      [acct.id],
    );
    expect((await confirm(second)).status).toBe(400);
    expect((await confirm("A".repeat(43))).body.error.code).toBe("invalid_token");
  });

  it("an unregistered address gets the same 202 and no mail", async () => {
    const nobody = `${uniqueName("nobody")}@example.com`;
    const res = await api.post("/api/v1/auth/password-reset", { json: { email: nobody } });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ status: "accepted" });
    await sleep(500);
    expect(smtp.mails.some((m) => m.to.includes(nobody))).toBe(false);
  });

  it("is rate limited per client address and per address asked for", async () => {
    const limited = await startTestApp({
      databaseUrl: suite.dbUrl,
      env: {
        SMTP_URL: smtp.url,
        MAIL_FROM: "no-reply@todo.example",
        RATE_LIMIT_PER_MINUTE: "3",
        TRUSTED_PROXIES: "127.0.0.1",
      },
      now: () => Math.floor(Date.now() / 60_000) * 60_000 + 30_000,
    });
    try {
      const c = client(limited.url);
      const ask = (email: string, from: string) =>
        c.post("/api/v1/auth/password-reset", { json: { email }, headers: { "x-forwarded-for": from } });
      const target = `${uniqueName("target")}@example.com`;
      const fromMany = [];
      for (let i = 1; i <= 4; i++) fromMany.push((await ask(target, `198.51.100.${i}`)).status);
      expect(fromMany).toEqual([202, 202, 202, 429]);
      const oneClient = [];
      for (let i = 1; i <= 4; i++) oneClient.push((await ask(`${uniqueName("t")}@example.com`, "203.0.113.9")).status);
      expect(oneClient).toEqual([202, 202, 202, 429]);
    } finally {
      await limited.close();
    }
  });
});

describe("when mail cannot go out", () => {
  it("a relay that is down never fails registration; the failure is logged without the SMTP password", async () => {
    const port = await freeClosedPort();
    const down = await startTestApp({
      databaseUrl: suite.dbUrl,
      env: { SMTP_URL: `smtp://user:hunter2-smtp@127.0.0.1:${port}`, MAIL_FROM: "no-reply@todo.example" },
    });
    try {
      const acct = await newAccount(client(down.url));
      expect(acct.id).toBeGreaterThan(0);
      let line: string | undefined;
      for (let i = 0; i < 100 && !line; i++) {
        line = down.logs.find((l) => l.includes("could not be sent"));
        await sleep(50);
      }
      expect(line).toBeDefined();
      expect(down.logs.join("\n")).not.toContain("hunter2-smtp");
    } finally {
      await down.close();
    }
  });

  it("without SMTP in development or test, the mail is logged", async () => {
    const dev = await startTestApp({ databaseUrl: suite.dbUrl });
    try {
      const acct = await newAccount(client(dev.url));
      let line: string | undefined;
      for (let i = 0; i < 100 && !line; i++) {
        line = dev.logs.find((l) => l.includes("logged, not sent") && l.includes(acct.email));
        await sleep(50);
      }
      expect(line).toBeDefined();
    } finally {
      await dev.close();
    }
  });

  it("without SMTP in production, the four mail routes answer 503 and registration still works", async () => {
    const prod = await startTestApp({ databaseUrl: suite.dbUrl, env: { NODE_ENV: "production" } });
    try {
      const c = client(prod.url);
      const acct = await newAccount(c);
      const answers = await Promise.all([
        c.post("/api/v1/auth/password-reset", { json: { email: acct.email } }),
        c.post("/api/v1/auth/password-reset/confirm", {
          json: { token: "x".repeat(43), new_password: "a brand new password" },
        }),
        c.post("/api/v1/users/me/email-verification", { token: acct.access }),
        c.post("/api/v1/auth/verify-email", { json: { token: "x".repeat(43) } }),
      ]);
      for (const res of answers) {
        expect(res.status).toBe(503);
        expect(res.body.error.code).toBe("unavailable");
      }
    } finally {
      await prod.close();
    }
  });
});
