import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../support/database.js";
import { client, startTestApp, type TestApp } from "../../harness/support/app-harness.js";

/** The published document as v1.1 of the contract describes it, and what Redocly's linter says. */
let app: TestApp;
let drop: () => Promise<void>;
let doc: any;

type Operation = {
  operationId?: string;
  summary?: string;
  security?: unknown[];
  responses: Record<string, { headers?: Record<string, { required?: boolean }> }>;
};

beforeAll(async () => {
  const db = await createTestDatabase();
  drop = db.drop;
  app = await startTestApp({ databaseUrl: db.url });
  doc = (await client(app.url).get("/openapi.json")).body;
});

afterAll(async () => {
  await app?.close();
  await drop?.();
});

function operations(): Array<[string, Operation]> {
  return Object.entries(doc.paths as Record<string, Record<string, Operation>>).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => [`${method.toUpperCase()} ${path}`, op] as [string, Operation]),
  );
}

describe("the OpenAPI document (v1.1)", () => {
  it("every operation has a unique camelCase operationId, a summary and its 4xx responses", () => {
    const ids = operations().map(([, op]) => op.operationId);
    expect(ids.every((id) => typeof id === "string" && /^[a-z][A-Za-z0-9]*$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(
      expect.arrayContaining(["createTodo", "listTodoChanges", "login", "refreshToken", "registerUser"]),
    );
    for (const [name, op] of operations()) {
      expect(op.summary, name).toBeTruthy();
      expect(
        Object.keys(op.responses).some((s) => /^4\d\d$/.test(s)),
        name,
      ).toBe(true);
    }
  });

  it("public routes declare security: [], protected ones the bearer scheme alone", () => {
    const publicOps = [
      "GET /healthz",
      "GET /readyz",
      "POST /api/v1/users",
      "POST /api/v1/auth/token",
      "POST /api/v1/auth/refresh",
      "POST /api/v1/auth/logout",
    ];
    for (const [name, op] of operations()) {
      if (publicOps.includes(name) || name.includes("/password-reset") || name.includes("/verify-email"))
        expect(op.security, name).toEqual([]);
      else expect(op.security, name).toEqual([{ bearerAuth: [] }]);
    }
  });

  it("ids are int64, errors are ErrorBody, servers names the origin", () => {
    expect(doc.servers).toEqual([expect.objectContaining({ url: "/" })]);
    expect(doc.components.schemas.Todo.properties.id).toMatchObject({ type: "integer", format: "int64" });
    expect(doc.components.schemas.User.properties.id).toMatchObject({ type: "integer", format: "int64" });
    expect(doc.components.schemas.Change.properties.id).toMatchObject({ type: "integer", format: "int64" });
    const idParam = doc.paths["/api/v1/todos/{id}"].get.parameters.find((p: { name: string }) => p.name === "id");
    expect(idParam.schema).toMatchObject({ type: "integer", format: "int64" });
    expect(doc.components.schemas.Error).toBeUndefined();
    expect(doc.paths["/api/v1/todos"].post.responses["422"].content["application/json"].schema).toEqual({
      $ref: "#/components/schemas/ErrorBody",
    });
    expect(doc.paths["/api/v1/auth/token"].post.requestBody.required).toBe(true);
  });

  it("declares the headers where they are sent", () => {
    for (const [name, op] of operations()) {
      for (const [status, res] of Object.entries(op.responses)) {
        expect(res.headers?.["X-Request-Id"]?.required, `${name} ${status}`).toBe(true);
      }
    }
    const create = doc.paths["/api/v1/todos"].post;
    expect(Object.keys(create.responses["201"].headers)).toEqual(
      expect.arrayContaining(["Location", "ETag", "Idempotent-Replayed"]),
    );
    expect(create.responses["201"].headers.Location.required).toBe(true);
    expect(create.responses["409"].headers["Retry-After"]).toBeDefined();
    expect(create.parameters.map((p: { name: string }) => p.name)).toContain("Idempotency-Key");
    const get = doc.paths["/api/v1/todos/{id}"].get;
    expect(get.responses["200"].headers.ETag.required).toBe(true);
    expect(get.responses["304"]).toBeDefined();
    expect(get.parameters.map((p: { name: string }) => p.name)).toContain("If-None-Match");
    expect(doc.paths["/api/v1/todos/{id}"].patch.parameters.map((p: { name: string }) => p.name)).toContain("If-Match");
    expect(doc.paths["/api/v1/todos/{id}"].patch.responses["412"]).toBeDefined();
    for (const op of [
      doc.paths["/api/v1/auth/token"].post,
      doc.paths["/api/v1/users"].post,
      doc.paths["/api/v1/users/me/password"].put,
    ]) {
      for (const res of Object.values(op.responses) as Array<{ headers: Record<string, unknown> }>) {
        expect(Object.keys(res.headers)).toEqual(
          expect.arrayContaining(["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"]),
        );
      }
      expect(op.responses["429"].headers["Retry-After"].required).toBe(true);
    }
    expect(doc.paths["/readyz"].get.responses["503"].headers["Retry-After"]).toBeDefined();
  });

  it("`redocly lint` with the recommended rules reports no error", async () => {
    const dir = mkdtempSync(join(tmpdir(), "todo-openapi-"));
    try {
      const file = join(dir, "openapi.json");
      writeFileSync(file, JSON.stringify(doc));
      const run = promisify(execFile);
      // `--format=json` prints the problems; the exit code is non-zero when there is an error.
      const { stdout } = await run(
        process.execPath,
        ["node_modules/@redocly/cli/bin/cli.js", "lint", file, "--extends=recommended", "--format=json"],
        {
          env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
          maxBuffer: 16 * 1024 * 1024,
        },
      ).catch((err: { stdout?: string; stderr?: string }) => {
        throw new Error(`redocly lint failed:\n${err.stdout ?? ""}\n${err.stderr ?? ""}`);
      });
      const report = JSON.parse(stdout) as {
        totals: { errors: number; warnings: number };
        problems: Array<{ ruleId: string; severity: string; message: string }>;
      };
      expect(report.problems.filter((p) => p.severity === "error")).toEqual([]);
      expect(report.totals.errors).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
