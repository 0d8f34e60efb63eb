import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { accessSync, constants, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

/**
 * openapi-generator as mobile teams run it: the CLI jar from Maven Central, pinned, with the
 * generator options docs/clients.md tells a shipped app to use. Expensive downloads (the jar, the
 * Maven artefacts the generated clients build with) are cached outside the repository, keyed by
 * version: TODO_CI_CACHE, else /var/cache/todo-ci when writable, else ~/.cache/todo-ci.
 */
export const GENERATOR_VERSION = "7.25.0";
const JAR_URL = `https://repo1.maven.org/maven2/org/openapitools/openapi-generator-cli/${GENERATOR_VERSION}/openapi-generator-cli-${GENERATOR_VERSION}.jar`;

export const run = promisify(execFile);

export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TODO_CI_CACHE) return env.TODO_CI_CACHE;
  try {
    mkdirSync("/var/cache/todo-ci", { recursive: true });
    accessSync("/var/cache/todo-ci", constants.W_OK);
    return "/var/cache/todo-ci";
  } catch {
    return join(homedir(), ".cache/todo-ci");
  }
}

/** The Maven repository the generated Java and Kotlin clients build with. */
export const mavenRepo = () => join(cacheRoot(), "maven-repo");

/** The generator jar, downloaded once and checked against Maven Central's SHA-1. */
export async function generatorJar(): Promise<string> {
  const dir = join(cacheRoot(), `openapi-generator-${GENERATOR_VERSION}`);
  const jar = join(dir, `openapi-generator-cli-${GENERATOR_VERSION}.jar`);
  if (existsSync(jar)) return jar;
  mkdirSync(dir, { recursive: true });
  const [body, sha1] = await Promise.all([fetch(JAR_URL), fetch(`${JAR_URL}.sha1`)]);
  if (!body.ok || !sha1.ok) throw new Error(`cannot download ${JAR_URL}: ${body.status}/${sha1.status}`);
  const bytes = Buffer.from(await body.arrayBuffer());
  const expected = (await sha1.text()).trim().split(/\s+/)[0];
  const actual = createHash("sha1").update(bytes).digest("hex");
  if (actual !== expected) throw new Error(`${JAR_URL}: SHA-1 ${actual}, Maven Central says ${expected}`);
  writeFileSync(`${jar}.part`, bytes);
  renameSync(`${jar}.part`, jar);
  return jar;
}

export type Generator = "java" | "kotlin" | "typescript-fetch" | "swift6" | "dart";

/**
 * The options docs/clients.md gives for each generator. For every one: an enum value a later release
 * adds (a new error code, say) decodes as an "unknown" case instead of failing the whole response.
 * Java: accept members a later release adds (its default rejects them). Dart: send only the members
 * the app set (its default sends null for every unset one). The rest are names.
 */
export const GENERATOR_OPTIONS: Record<Generator, string[]> = {
  java: [
    "--library=okhttp-gson",
    "--additional-properties=enumUnknownDefaultCase=true,disallowAdditionalPropertiesIfNotPresent=false,hideGenerationTimestamp=true,invokerPackage=todo.client,apiPackage=todo.client.api,modelPackage=todo.client.model",
  ],
  kotlin: ["--library=jvm-okhttp4", "--additional-properties=enumUnknownDefaultCase=true,packageName=todo.client"],
  "typescript-fetch": ["--additional-properties=enumUnknownDefaultCase=true"],
  swift6: ["--additional-properties=enumUnknownDefaultCase=true,projectName=TodoClient"],
  dart: ["--additional-properties=enumUnknownDefaultCase=true,useOptional=true,pubName=todo_client"],
};

/** Lines the generator itself prints for every OpenAPI 3.1 document, whatever it says. */
const GENERATOR_SIDE = [/OpenAPI 3\.1 support is still in beta/];

export interface Generated {
  dir: string;
  /** WARN/ERROR lines and renames of reserved names: what the document causes. */
  warnings: string[];
}

export async function generate(generator: Generator, spec: string, dir: string): Promise<Generated> {
  const { stdout, stderr } = await run(
    "java",
    ["-jar", await generatorJar(), "generate", "-g", generator, "-i", spec, "-o", dir, ...GENERATOR_OPTIONS[generator]],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const warnings = `${stdout}\n${stderr}`
    .split("\n")
    .filter((l) => /\b(WARN|ERROR)\b|reserved word|cannot be used as|Renamed to/.test(l))
    .filter((l) => !GENERATOR_SIDE.some((p) => p.test(l)));
  return { dir, warnings };
}

/** The STEP lines a flow printed, and its FAIL line if it stopped. */
export function stepsOf(output: string): { steps: string[]; failure: string | undefined } {
  const lines = output.split("\n");
  return {
    steps: lines.filter((l) => l.startsWith("STEP ")).map((l) => l.slice(5).trim()),
    failure: lines.find((l) => l.startsWith("FAIL ")),
  };
}

/** Counts non-blank, non-comment lines between `// glue:begin` and `// glue:end` in a flow. */
export function glueLines(file: string): number {
  const text = readFileSync(file, "utf8");
  const blocks = text
    .split("// glue:begin")
    .slice(1)
    .map((b) => b.split("// glue:end")[0] ?? "");
  return blocks.flatMap((b) => b.split("\n")).filter((l) => l.trim() !== "" && !l.trim().startsWith("//")).length;
}
