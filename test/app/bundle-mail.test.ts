import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildServer } from "../../release/bundle.js";
import { createTestDatabase } from "../support/database.js";
import { client, newAccount } from "../../harness/support/app-harness.js";
import { startSmtpSink, tokenIn, type SmtpSink } from "../../harness/support/smtp-sink.js";

/** The production bundle sends account mail over SMTP (nodemailer bundled into dist/server.mjs). */
let outDir: string;
let server: string;
let smtp: SmtpSink;
let dbUrl: string;
let drop: () => Promise<void>;
let child: ChildProcess | undefined;

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), "todo-api-bundle-mail-"));
  symlinkSync(resolve("node_modules"), join(outDir, "node_modules"), "dir");
  ({ server } = await buildServer({ outDir }));
  smtp = await startSmtpSink();
  const db = await createTestDatabase();
  dbUrl = db.url;
  drop = db.drop;
}, 120_000);

afterAll(async () => {
  if (child && child.exitCode === null) child.kill("SIGKILL");
  await smtp?.close();
  await drop?.();
  rmSync(outDir, { recursive: true, force: true });
});

describe("dist/server.mjs with SMTP_URL", () => {
  it("mails the verification code on registration, and never logs the SMTP password", async () => {
    child = spawn(process.execPath, [server], {
      env: {
        PATH: process.env.PATH ?? "",
        NODE_ENV: "production",
        DATABASE_URL: dbUrl,
        // Production servers migrate as a release step; this fresh database is migrated at start.
        MIGRATE_ON_START: "true",
        JWT_SECRET: "bundle-test-secret-0123456789abcdef-0123456789",
        HOST: "127.0.0.1",
        PORT: "0",
        BCRYPT_COST: "4",
        SMTP_URL: smtp.url,
        MAIL_FROM: "no-reply@todo.example",
      },
      stdio: ["ignore", "pipe", "inherit"],
    });
    const lines: string[] = [];
    const url = await new Promise<string>((resolveUrl, reject) => {
      createInterface({ input: child!.stdout! }).on("line", (text) => {
        lines.push(text);
        const line = JSON.parse(text) as { msg?: string; url?: string };
        if (line.msg === "listening") resolveUrl(String(line.url));
      });
      child!.once("exit", (code) => reject(new Error(`server exited (${code})`)));
    });
    const api = client(url);
    const acct = await newAccount(api);
    const mail = await smtp.waitFor(acct.email);
    const verified = await api.post("/api/v1/auth/verify-email", { json: { token: tokenIn(mail) } });
    expect(verified.body.email_verified).toBe(true);
    expect(lines.join("\n")).not.toContain(smtp.password);
    child.kill("SIGTERM");
  }, 60_000);
});
