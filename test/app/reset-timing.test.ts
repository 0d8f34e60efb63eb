import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { client, newAccount, startTestApp, uniqueName } from "../../harness/support/app-harness.js";
import { createTestDatabase } from "../support/database.js";
import { startSmtpSink, type SmtpSink } from "../../harness/support/smtp-sink.js";

/**
 * A password-reset request must not reveal whether the address is registered through the timing
 * of the client's next request: the mail work (look-up, code, SMTP) runs on the mail queue's own
 * clock, never right after the response. Proven structurally (no timing in CI): with the queue's
 * tick an hour away, the work has not started when the next requests are answered; it runs, and
 * the mail goes out, when the queue drains (here: at shutdown).
 */
let smtp: SmtpSink;
let db: { url: string; drop: () => Promise<void> };
beforeAll(async () => {
  smtp = await startSmtpSink();
  db = await createTestDatabase();
});
afterAll(async () => {
  await smtp?.close();
  await db?.drop();
});

describe("password-reset mail work", () => {
  it("does not run on the request path: nothing is issued until the queue drains, then the mail goes out", async () => {
    const app = await startTestApp({
      databaseUrl: db.url,
      env: { SMTP_URL: smtp.url, MAIL_FROM: "Todo <no-reply@todo.example>" },
      mailQueueIntervalMs: 3_600_000,
    });
    const sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
    try {
      const api = client(app.url);
      const acct = await newAccount(api);
      const since = smtp.mails.length;
      expect((await api.post("/api/v1/auth/password-reset", { json: { email: acct.email } })).status).toBe(202);
      expect(
        (await api.post("/api/v1/auth/password-reset", { json: { email: `${uniqueName("n")}@example.com` } })).status,
      ).toBe(202);
      // The client's next requests, and time enough for anything scheduled right after the response.
      for (let i = 0; i < 5; i++) expect((await api.get("/readyz")).status).toBe(200);
      await new Promise((r) => setTimeout(r, 300));
      const issued = await sql.query(
        "select count(*)::int as n from account_tokens where user_id = $1 and purpose = 'password_reset'",
        [acct.id],
      );
      expect(issued.rows[0].n).toBe(0);
      expect(smtp.mails.slice(since).some((m) => m.to.includes(acct.email) && m.raw.includes("reset"))).toBe(false);
      await app.close();
      const mail = await smtp.waitFor(acct.email, since, "reset");
      expect(mail.to).toEqual([acct.email]);
    } finally {
      await sql.end();
      await app.close();
    }
  });
});
