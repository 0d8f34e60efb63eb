import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../support/database.js";
import { commandPath, requireTools } from "../support/tools.js";
import { type Built, buildJava, buildKotlin, buildTypescript, runFlow } from "./builds.js";
import { type Generated, type Generator, generate, generatorJar, glueLines } from "./generator.js";
import { startProductionServer } from "./production-server.js";

/**
 * The clients mobile teams generate with openapi-generator (7.25.0, from Maven Central), from the
 * document the production build serves: each generates without a warning the document causes,
 * compiles, and runs an app's first session against the production build on PostgreSQL — no
 * hand-written HTTP, no casts, no overridden client internals, no edits to the generated code.
 * Clients generated from the v1.1 document (test/fixtures/openapi/v1.1.json) run their session
 * against today's server: apps already shipped keep working.
 */
const here = dirname(fileURLToPath(import.meta.url));
const v11Document = join(here, "../fixtures/openapi/v1.1.json");
const jdk = requireTools("java", "mvn");

const SESSION = [
  "register",
  "login",
  "create",
  "create-retried",
  "list-and-page",
  "read-etag",
  "update-if-match",
  "update-stale-412",
  "clear-field",
  "complete",
  "sync-from-start",
  "delete",
  "sync-tombstone",
  "refresh",
  "logout",
  "decode-added-field",
];
/** v1.2 flows of the platforms docs/files.md shows: an attachment uploaded, completed, seen on its todo. */
const WITH_FILES = [
  ...SESSION.slice(0, SESSION.indexOf("complete") + 1),
  "attachment",
  ...SESSION.slice(SESSION.indexOf("complete") + 1),
];
/** What the v1.1 document did not let a client do is not tried by its flow (each flow says why). */
const without = (...skipped: string[]) => SESSION.filter((s) => !skipped.includes(s));

interface Client {
  generator: Generator;
  document: "served" | "v1.1";
  flow: string;
  build: (generated: string, flow: string, work: string) => Promise<Built>;
  steps: string[];
  glue: number;
}

const CLIENTS: Client[] = [
  { generator: "java", document: "served", flow: "java/Flow.java", build: buildJava, steps: SESSION, glue: 0 },
  {
    generator: "kotlin",
    document: "served",
    flow: "kotlin/v1.2/Flow.kt",
    build: buildKotlin,
    steps: WITH_FILES,
    glue: 0,
  },
  {
    generator: "typescript-fetch",
    document: "served",
    flow: "typescript/flow.ts",
    build: buildTypescript,
    steps: WITH_FILES,
    glue: 0,
  },
  // Its login() never worked without the 6 lines of glue every shipped app carried (in the flow).
  {
    generator: "java",
    document: "v1.1",
    flow: "java/v1.1/Flow.java",
    build: buildJava,
    steps: without("clear-field"),
    glue: 6,
  },
  {
    generator: "kotlin",
    document: "v1.1",
    flow: "kotlin/v1.1/Flow.kt",
    build: buildKotlin,
    steps: without("clear-field", "sync-from-start", "sync-tombstone"),
    glue: 0,
  },
  {
    generator: "typescript-fetch",
    document: "v1.1",
    flow: "typescript/flow-v1.1.ts",
    build: buildTypescript,
    steps: SESSION,
    glue: 0,
  },
];

let work: string;
let server: { url: string; stop: () => void } | undefined;
let drop: (() => Promise<void>) | undefined;
let served: string;
const report: string[] = [];

describe.skipIf(jdk.missing)("clients generated with openapi-generator from the served document", () => {
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "todo-clients-"));
    const db = await createTestDatabase();
    drop = db.drop;
    [server] = await Promise.all([startProductionServer(db.url), generatorJar()]);
    served = join(work, "openapi.json");
    writeFileSync(served, await (await fetch(`${server.url}/openapi.json`)).text());
  }, 600_000);

  afterAll(async () => {
    server?.stop();
    await drop?.();
    if (work) rmSync(work, { recursive: true, force: true });
    if (report.length > 0) console.log(`generated clients (openapi-generator):\n${report.join("\n")}`);
  });

  const generated = new Map<string, Promise<Generated>>();
  const generateOnce = (generator: Generator, document: "served" | "v1.1") => {
    const key = `${generator}-${document}`;
    if (!generated.has(key))
      generated.set(key, generate(generator, document === "served" ? served : v11Document, join(work, "gen", key)));
    return generated.get(key)!;
  };

  for (const generator of ["java", "kotlin", "typescript-fetch", "swift6", "dart"] as const) {
    it(`${generator}: generates without a warning caused by the document`, async () => {
      const { warnings } = await generateOnce(generator, "served");
      expect(warnings).toEqual([]);
    }, 300_000);
  }

  it("swift6: names as the document gives them (no Swift compiler here: generated and read only)", async () => {
    // Neither the Swift nor the Dart SDK is packaged for this project's machines (Debian has
    // neither), so their clients are generated and checked, not compiled.
    const compilers = ["swift", "dart"].filter((c) => commandPath(c) !== undefined);
    report.push(
      `swift6, dart: generated and checked, not compiled (compilers on PATH: ${compilers.join(", ") || "none"})`,
    );
    const { dir } = await generateOnce("swift6", "served");
    const models = join(dir, "Sources/TodoClient/Models");
    expect(readFileSync(join(models, "ErrorBody.swift"), "utf8")).toContain("public struct ErrorBody");
    expect(readFileSync(join(models, "TodoSort.swift"), "utf8")).toContain(
      'case CREATED_AT_DESCENDING = "-created_at"',
    );
    expect(readFileSync(join(models, "ErrorCode.swift"), "utf8")).toContain('case INTERNAL = "internal"');
    expect(readFileSync(join(models, "UpdateTodoRequest.swift"), "utf8")).toContain(
      "public var clear: [TodoClearableField]?",
    );
  });

  it("dart: a Change decodes either kind, and an update sends only the members the app set", async () => {
    const { dir } = await generateOnce("dart", "served");
    const change = readFileSync(join(dir, "lib/model/change.dart"), "utf8");
    // Only `type` is required: an upsert (no id) and a tombstone (no todo) both decode.
    expect(change).toMatch(/required this\.type,/);
    expect(change).not.toMatch(/required this\.(todo|id|deletedAt|version)/);
    expect(change).toContain("json.containsKey(r'todo') ? Optional.present(Todo.fromJson(json[r'todo']))");
    const update = readFileSync(join(dir, "lib/model/update_todo_request.dart"), "utf8");
    for (const member of ["title", "description", "dueDate", "completed", "clear"])
      expect(update).toContain(`if (this.${member}.isPresent) {`);
  });

  for (const client of CLIENTS) {
    const name = `${client.generator} (${client.document === "served" ? "v1.2, served" : "v1.1 fixture"})`;
    it(`${name}: compiles and runs the first session against the production build`, async () => {
      const gen = await generateOnce(client.generator, client.document);
      const dir = join(work, "build", `${client.generator}-${client.document}`);
      mkdirSync(dir, { recursive: true });
      const built = await client.build(gen.dir, join(here, client.flow), dir);
      const result = await runFlow(built, server!.url);
      const glue =
        client.flow.endsWith("kotlin") || client.flow.endsWith("v1.1") ? 0 : glueLines(join(here, client.flow));
      report.push(
        `${name}: ${gen.warnings.length} generator warnings, ${built.compilerWarnings.length} compiler warnings ` +
          `(generated code), ${result.steps.length}/${client.steps.length} steps, ${glue} lines of glue`,
      );
      expect(result.failure ?? "", result.stderr).toBe("");
      expect(result.steps).toEqual(client.steps);
      expect(glue).toBe(client.glue);
    }, 900_000);
  }
});
