import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { mavenRepo, run, stepsOf } from "./generator.js";

/**
 * Compiles a generated client with the app code of a flow, then runs the flow against a server.
 * The generated code is used as generated: Java with its own pom.xml, Kotlin (whose build is
 * Gradle) with kotlin/pom.xml naming the same dependencies, TypeScript with tsc under strict settings.
 */
const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");

export interface Built {
  /** The command that runs the flow, given the base URL as its last argument. */
  command: [string, ...string[]];
  /** Compiler warnings in the generated code (templates, not the document). */
  compilerWarnings: string[];
}

const maven = (args: string[], cwd: string) =>
  run("mvn", ["-B", `-Dmaven.repo.local=${mavenRepo()}`, ...args], { cwd, maxBuffer: 64 * 1024 * 1024 }).catch(
    (err: { stdout?: string; stderr?: string }) => {
      const out = `${err.stdout ?? ""}${err.stderr ?? ""}`;
      throw new Error(`mvn ${args.join(" ")} failed:\n${out.split("\n").filter(isProblem).join("\n") || out}`);
    },
  );
const isProblem = (l: string) => /^\[(ERROR|WARNING)\]/.test(l);
const sourceWarnings = (out: string) => out.split("\n").filter((l) => /^\[WARNING\] .*\.(java|kt)\b/.test(l));

export async function buildJava(generated: string, flowFile: string, work: string): Promise<Built> {
  const { stdout } = await maven(
    [
      "-DskipTests",
      "-Dmaven.javadoc.skip=true",
      "compile",
      "dependency:build-classpath",
      `-Dmdep.outputFile=${join(work, "classpath.txt")}`,
    ],
    generated,
  );
  const classpath = [join(generated, "target/classes"), readFileSync(join(work, "classpath.txt"), "utf8").trim()].join(
    ":",
  );
  const out = join(work, "flow-classes");
  mkdirSync(out, { recursive: true });
  const javac = await run("javac", ["-Xlint:none", "-d", out, "-cp", classpath, flowFile]);
  if (javac.stderr.trim()) throw new Error(`javac (flow): ${javac.stderr}`);
  return { command: ["java", "-cp", `${out}:${classpath}`, "Flow"], compilerWarnings: sourceWarnings(stdout) };
}

export async function buildKotlin(generated: string, flowFile: string, work: string): Promise<Built> {
  const buildDir = join(work, "build");
  const { stdout } = await maven(
    [
      "-f",
      join(here, "kotlin/pom.xml"),
      `-Dgenerated.dir=${generated}`,
      `-Dflow.dir=${dirname(flowFile)}`,
      `-Dbuild.dir=${buildDir}`,
      "compile",
      "dependency:build-classpath",
      `-Dmdep.outputFile=${join(work, "classpath.txt")}`,
    ],
    work,
  );
  const classpath = [join(buildDir, "classes"), readFileSync(join(work, "classpath.txt"), "utf8").trim()].join(":");
  return { command: ["java", "-cp", classpath, "FlowKt"], compilerWarnings: sourceWarnings(stdout) };
}

/** The flow next to the generated client (as ./client), type-checked strictly with tsc, run with tsx. */
export async function buildTypescript(generated: string, flowFile: string, work: string): Promise<Built> {
  cpSync(generated, join(work, "client"), { recursive: true });
  cpSync(flowFile, join(work, "flow.ts"));
  writeFileSync(
    join(work, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "ES2022",
        module: "ESNext",
        moduleResolution: "Bundler",
        lib: ["ES2023", "DOM"],
        types: ["node"],
        typeRoots: [join(root, "node_modules/@types")],
        strict: true,
        noEmit: true,
        skipLibCheck: true,
      },
      files: ["flow.ts"],
    }),
  );
  await run(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", work], { cwd: work }).catch(
    (err: { stdout?: string; stderr?: string }) => {
      throw new Error(`tsc failed:\n${err.stdout ?? ""}${err.stderr ?? ""}`);
    },
  );
  return {
    command: [process.execPath, join(root, "node_modules/tsx/dist/cli.mjs"), join(work, "flow.ts")],
    compilerWarnings: [],
  };
}

export async function runFlow(built: Built, baseUrl: string) {
  const [command, ...args] = built.command;
  const result = await run(command, [...args, baseUrl], { maxBuffer: 16 * 1024 * 1024, timeout: 180_000 }).catch(
    (err: { stdout?: string; stderr?: string }) => ({ stdout: err.stdout ?? "", stderr: err.stderr ?? "" }),
  );
  return { ...stepsOf(result.stdout), stderr: result.stderr };
}
