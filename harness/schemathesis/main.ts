/**
 * `npm run fuzz`: schemathesis (`st run --checks all`, every phase) against the production build
 * (dist/server.mjs, NODE_ENV=production) on a throw-away PostgreSQL cluster, with SMTP configured
 * (a local sink) so the mail routes answer as in production. Exits with schemathesis's status;
 * a failure is printed with the curl command that reproduces it.
 *
 * ST_BIN: the `st` to run (default: harness/schemathesis/install.sh installs the pinned version).
 * FUZZ_MAX_EXAMPLES: test cases per operation and phase (default 60, sized for the CI budget).
 * FUZZ_SEED: a seed, to replay a run exactly.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { apiNodeFlags, DEFAULT_APP_MEMORY_MAX_MIB } from "../../cloud-init/node-flags.js";
import { buildServer } from "../../release/bundle.js";
import { freePort, type PgCluster, startPgCluster } from "../support/pg-cluster.js";
import { type SmtpSink, startSmtpSink } from "../support/smtp-sink.js";
import { hooksFile } from "./hooks.js";
import { lineRelay } from "./relay.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const maxExamples = Number(process.env.FUZZ_MAX_EXAMPLES ?? 60);

function log(message: string): void {
  process.stderr.write(`[fuzz ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

async function waitReady(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer within 30 s`);
}

async function main(): Promise<number> {
  let cluster: PgCluster | undefined;
  let smtp: SmtpSink | undefined;
  let server: ChildProcess | undefined;
  const work = mkdtempSync(join(tmpdir(), "todo-fuzz-"));
  try {
    const st =
      process.env.ST_BIN ??
      execFileSync("bash", [join(root, "harness/schemathesis/install.sh")])
        .toString()
        .trim();
    log("building dist/server.mjs");
    const bundle = await buildServer();
    log("starting a throw-away PostgreSQL cluster");
    cluster = await startPgCluster();
    const dbName = `todo_fuzz_${randomBytes(4).toString("hex")}`;
    const admin = new pg.Client({ connectionString: cluster.url });
    await admin.connect();
    await admin.query(`create database ${dbName}`);
    await admin.end();
    const dbUrl = new URL(cluster.url);
    dbUrl.pathname = `/${dbName}`;
    smtp = await startSmtpSink();

    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    server = spawn(process.execPath, [...apiNodeFlags(DEFAULT_APP_MEMORY_MAX_MIB), bundle.server], {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        NODE_ENV: "production",
        HOST: "127.0.0.1",
        PORT: String(port),
        MIGRATE_ON_START: "true",
        DATABASE_URL: dbUrl.toString(),
        JWT_SECRET: randomBytes(32).toString("hex"),
        JWT_ISSUER: "todo-api-fuzz",
        JWT_AUDIENCE: "todo-api-fuzz-clients",
        SMTP_URL: smtp.url,
        MAIL_FROM: "Todo <no-reply@example.com>",
        // The fuzzer is one client sending thousands of requests a minute; the limits are
        // tested elsewhere, here they would only turn most cases into 429s.
        RATE_LIMIT_PER_MINUTE: "100000",
        PASSWORD_RATE_LIMIT_PER_MINUTE: "100000",
        BCRYPT_COST: "4",
        LOG_LEVEL: "warn",
        // Attachments on, with the API's own store (its objects in the work folder): the file
        // routes are fuzzed through their real paths, not only their files-off answer.
        FILES_STORAGE: "local",
        DATA_DIR: join(work, "data"),
      },
      stdio: ["ignore", "ignore", "pipe"],
    });
    const serverErrors: Buffer[] = [];
    server.stderr?.on("data", (chunk: Buffer) => serverErrors.push(chunk));
    await waitReady(`${url}/readyz`, server);
    log(`production build listening on ${url}`);

    const hooks = join(work, "hooks.py");
    writeFileSync(hooks, hooksFile());
    const args = [
      "--config-file",
      join(root, "harness/schemathesis/schemathesis.toml"),
      "run",
      `${url}/openapi.json`,
      "--url",
      url,
      "--checks",
      "all",
      "--phases",
      "examples,coverage,fuzzing,stateful",
      "--max-examples",
      String(maxExamples),
      // One worker: hypothesis describes strategies with ast.parse, which CPython 3.11 does not
      // make thread-safe ("AST constructor recursion depth mismatch" with two workers).
      "--workers",
      "1",
      "--suppress-health-check",
      "too_slow,filter_too_much",
      ...(process.env.FUZZ_SEED ? ["--seed", process.env.FUZZ_SEED] : []),
    ];
    log(`${st} ${args.join(" ")}`);
    const started = Date.now();
    const output: Buffer[] = [];
    const relay = lineRelay((text) => process.stdout.write(text));
    const status = await new Promise<number>((resolveStatus) => {
      const child = spawn(st, args, {
        cwd: work, // schemathesis keeps a cache folder in its working directory
        stdio: ["ignore", "pipe", "inherit"],
        env: { ...process.env, SCHEMATHESIS_HOOKS: "hooks", PYTHONPATH: work, FUZZ_API_URL: url, NO_COLOR: "1" },
      });
      child.stdout?.on("data", (chunk: Buffer) => {
        output.push(chunk);
        relay.push(chunk);
      });
      child.on("close", (code) => {
        relay.end();
        resolveStatus(code ?? 1);
      });
    });
    // schemathesis's own summary line, e.g. "Test cases: 969 generated, 32 found 32 unique failures, 24 skipped".
    const summary = /Test cases:\s*(.+)/.exec(Buffer.concat(output).toString())?.[1]?.trim() ?? "no summary";
    log(`schemathesis: ${summary}; ${((Date.now() - started) / 1000).toFixed(0)} s; exit ${status}`);
    const errors = Buffer.concat(serverErrors).toString().trim();
    if (errors) log(`the server wrote to stderr:\n${errors.slice(0, 4000)}`);
    return status;
  } finally {
    if (server && server.exitCode === null) {
      await new Promise((r) => {
        server?.once("exit", r);
        server?.kill("SIGTERM");
      });
    }
    await smtp?.close();
    await cluster?.destroy();
    rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  (status) => process.exit(status),
  (err) => {
    log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
