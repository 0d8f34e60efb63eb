import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../support/database.js";
import { client, startTestApp, type TestApp } from "../../harness/support/app-harness.js";
import { generateClientTypes } from "../support/generate-client.js";
import { startSmtpSink, tokenIn, type SmtpSink } from "../../harness/support/smtp-sink.js";
import { runFlow } from "./generated-client/flow.js";

/**
 * A client generated from the served document (openapi-typescript types + openapi-fetch) runs
 * register → login → sync → create with a retry → conflicting update → refresh → reset, typed and
 * without casts. The committed schema.d.ts must equal what the served document generates now.
 */
const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
const schemaFile = join(here, "generated-client/schema.d.ts");
const flowFile = join(here, "generated-client/flow.ts");

let app: TestApp;
let smtp: SmtpSink;
let drop: () => Promise<void>;

beforeAll(async () => {
  const db = await createTestDatabase();
  drop = db.drop;
  smtp = await startSmtpSink();
  app = await startTestApp({ databaseUrl: db.url, env: { SMTP_URL: smtp.url, MAIL_FROM: "no-reply@todo.example" } });
});

afterAll(async () => {
  await app?.close();
  await smtp?.close();
  await drop?.();
});

describe("a client generated with openapi-typescript + openapi-fetch", () => {
  it("the committed types are what the served document generates", async () => {
    const generated = await generateClientTypes((await client(app.url).get("/openapi.json")).body);
    if (process.env.UPDATE_GENERATED_CLIENT === "1") writeFileSync(schemaFile, generated);
    expect(
      readFileSync(schemaFile, "utf8"),
      "the API changed: regenerate with UPDATE_GENERATED_CLIENT=1 npx vitest run test/app/generated-client.test.ts",
    ).toBe(generated);
  });

  it("the flow type-checks under strict settings and has no casts", async () => {
    // The code only: comments and string literals may say "as" freely.
    const source = readFileSync(flowFile, "utf8")
      .replace(/\/\*[\s\S]*?\*\//g, "")
      .replace(/\/\/.*$/gm, "")
      .replace(/"(?:[^"\\\n]|\\.)*"|`(?:[^`\\]|\\.)*`/g, '""');
    expect(source).toContain("createClient<paths>");
    expect(source).not.toMatch(/\bas\s+(?!const\b)[A-Za-z{[(]/);
    expect(source).not.toMatch(/\bany\b|@ts-|!\./);
    const dir = mkdtempSync(join(tmpdir(), "todo-client-tsc-"));
    try {
      const tsconfig = join(dir, "tsconfig.json");
      writeFileSync(
        tsconfig,
        JSON.stringify({
          compilerOptions: {
            target: "ES2022",
            module: "ESNext",
            moduleResolution: "Bundler",
            lib: ["ES2023", "DOM"],
            types: ["node"],
            typeRoots: [join(root, "node_modules/@types")],
            strict: true,
            noUncheckedIndexedAccess: true,
            exactOptionalPropertyTypes: true,
            noEmit: true,
            skipLibCheck: true,
          },
          files: [flowFile],
        }),
      );
      await promisify(execFile)(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", tsconfig], {
        cwd: root,
      }).catch((err: { stdout?: string; stderr?: string }) => {
        throw new Error(`tsc failed:\n${err.stdout ?? ""}${err.stderr ?? ""}`);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it("runs register → login → sync → create with a retry → conflicting update → refresh → reset", async () => {
    const steps = await runFlow({
      baseUrl: app.url,
      readResetCode: async (email) => tokenIn(await smtp.waitFor(email, 0, "Reset your Todo password")),
    });
    expect(steps).toEqual([
      "register 201",
      "login 200 no-store",
      "sync 0",
      "create 201, retry 201 replayed",
      "delta Written offline",
      "conflict 412 precondition_failed",
      "refresh 200",
      "reset 202 204, login 200",
    ]);
  });
});
