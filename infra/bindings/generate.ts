/**
 * Offline equivalent of `cdktf get` for the Volcengine provider.
 *
 * `cdktf get` downloads the provider binary to ask it for its schema; no machine of this project
 * can do that. The schema is committed instead (infra/provider/volcengine.schema.json, the exact
 * output of `terraform providers schema -json`) and this script feeds it to the same code
 * generator `cdktf get` uses, writing to the same place (`.gen/providers/volcengine/...`), so a
 * user who *can* run `cdktf get` gets identical import paths.
 *
 * It runs on `npm install` (postinstall), before `tsc` (typecheck), before synth (cdktf.json
 * "app") and before the infra tests. It is a no-op when `.gen` already matches the schema and the
 * generator version (a stamp file records their hash), so the common case costs a few ms and never
 * loads the generator.
 *
 * Usage: tsx infra/bindings/generate.ts [--force]
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { disableCheckpoint, useEmptyTerraformCliConfigIfMissing } from "./terraform-cli-config.js";

const require = createRequire(import.meta.url);

export const PROVIDER_SOURCE = "volcengine/volcengine";
export const PROVIDER_FQPN = "registry.terraform.io/volcengine/volcengine";
export const PROVIDER_VERSION = "0.0.196";
export const PROVIDER_CONSTRAINT = "~> 0.0.196";

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const defaultSchemaPath = path.join(projectRoot, "infra/provider/volcengine.schema.json");
/** Where `cdktf get` writes (cdktf.json "codeMakerOutput"). */
export const defaultGenDir = path.join(projectRoot, ".gen");
const generatorScript = fileURLToPath(import.meta.url);

function generatorVersion(): string {
  const pkg = JSON.parse(readFileSync(require.resolve("@cdktf/provider-generator/package.json"), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

/** Hash of everything the output depends on: schema, generator version, this script. */
function inputHash(schemaText: string): string {
  return createHash("sha256")
    .update(schemaText)
    .update("\0")
    .update(generatorVersion())
    .update("\0")
    .update(readFileSync(generatorScript))
    .digest("hex");
}

export interface BindingsLocation {
  /** Provider schema (output of `terraform providers schema -json`). */
  schemaPath?: string;
  /** Output root; bindings land in <genDir>/providers/volcengine. */
  genDir?: string;
}

function locate(opts: BindingsLocation) {
  const schemaPath = opts.schemaPath ?? defaultSchemaPath;
  const genDir = opts.genDir ?? defaultGenDir;
  const providerDir = path.join(genDir, "providers/volcengine");
  return { schemaPath, genDir, providerDir, stampPath: path.join(providerDir, ".generated-from.json") };
}

export function bindingsAreCurrent(opts: BindingsLocation = {}): boolean {
  const { schemaPath, providerDir, stampPath } = locate(opts);
  if (!existsSync(stampPath) || !existsSync(path.join(providerDir, "index.ts"))) return false;
  try {
    const stamp = JSON.parse(readFileSync(stampPath, "utf8")) as { hash?: string };
    return stamp.hash === inputHash(readFileSync(schemaPath, "utf8"));
  } catch {
    return false;
  }
}

export interface GenerateResult {
  generated: boolean;
  files: number;
  ms: number;
}

export async function generateBindings(opts: BindingsLocation & { force?: boolean } = {}): Promise<GenerateResult> {
  const started = performance.now();
  const { schemaPath, genDir, providerDir, stampPath } = locate(opts);
  const schemaText = readFileSync(schemaPath, "utf8");
  if (!opts.force && bindingsAreCurrent(opts)) {
    return { generated: false, files: 0, ms: performance.now() - started };
  }

  // @cdktf/commons runs `terraform version` and a checkpoint request when it is loaded: neither
  // may print an alarm (a missing CLI config, no network).
  useEmptyTerraformCliConfigIfMissing();
  disableCheckpoint();
  // Loaded lazily: these pull in a lot of code and are only needed when regenerating.
  // Deep import: the package index also loads a module that needs jsii-pacmak.
  const { TerraformProviderGenerator } =
    require("@cdktf/provider-generator/lib/get/generator/provider-generator") as typeof import("@cdktf/provider-generator/lib/get/generator/provider-generator");
  const { sanitizeProviderSchema } =
    require("@cdktf/provider-schema/src/provider-schema") as typeof import("@cdktf/provider-schema/src/provider-schema");
  const { ConstructsMakerTarget, Language, TerraformProviderConstraint } =
    require("@cdktf/commons") as typeof import("@cdktf/commons");
  // The CodeMaker the generator was built against (it bundles its own codemaker version).
  const generatorRequire = createRequire(require.resolve("@cdktf/provider-generator/package.json"));
  const { CodeMaker } = generatorRequire("codemaker") as typeof import("codemaker");

  const raw = JSON.parse(schemaText) as import("@cdktf/commons").ProviderSchema;
  if (!raw.provider_schemas?.[PROVIDER_FQPN]) {
    throw new Error(`${schemaPath} has no schema for ${PROVIDER_FQPN}`);
  }
  const schema = sanitizeProviderSchema(raw);
  // What `cdktf get` adds from `terraform version -json`.
  schema.provider_versions = { [PROVIDER_FQPN]: PROVIDER_VERSION };

  const code = new CodeMaker();
  const generator = new TerraformProviderGenerator(code as never, schema);
  generator.generate(
    ConstructsMakerTarget.from(
      new TerraformProviderConstraint(`${PROVIDER_SOURCE}@${PROVIDER_CONSTRAINT}`),
      Language.TYPESCRIPT,
    ),
  );

  // Written to a staging folder first and moved into place complete (stamp last), so a reader
  // (or a second generator running in parallel, e.g. test workers on a fresh clone) never sees
  // a half-written provider folder. Replacing the folder wholesale also drops resources that
  // left the schema.
  mkdirSync(genDir, { recursive: true });
  const staging = mkdtempSync(path.join(genDir, ".staging-"));
  let written: string[];
  try {
    // Same as generator.save(), which discards the list of written files.
    written = await code.save(staging);

    // The project's tsconfig is stricter than the code generator (noImplicitOverride), and the
    // generated code is the generator's responsibility: exclude it from type *errors* (its
    // types are still used by the project).
    for (const file of written) {
      if (!file.endsWith(".ts")) continue;
      const text = readFileSync(file, "utf8");
      if (!text.startsWith("// @ts-nocheck"))
        writeFileSync(file, `// @ts-nocheck generated by infra/bindings/generate.ts\n${text}`);
    }
    writeFileSync(
      path.join(staging, "providers/volcengine", path.basename(stampPath)),
      `${JSON.stringify(
        {
          hash: inputHash(schemaText),
          provider: `${PROVIDER_SOURCE}@${PROVIDER_VERSION}`,
          generator: `@cdktf/provider-generator@${generatorVersion()}`,
        },
        null,
        2,
      )}\n`,
    );

    // `cdktf get` also records the provider versions it generated.
    const versionsPath = path.join(genDir, "versions.json");
    const versions = existsSync(versionsPath)
      ? (JSON.parse(readFileSync(versionsPath, "utf8")) as Record<string, string>)
      : {};
    versions[PROVIDER_FQPN] = PROVIDER_VERSION;
    writeFileSync(versionsPath, `${JSON.stringify(versions, null, 2)}\n`);

    // The project is "type": "module", but the generated lazy-index.ts is CommonJS
    // (require/exports) — the same split `cdktf get` resolves with a package.json in its jsii
    // output. Marking .gen as CommonJS lets tsx load every generated file, lazy-index included;
    // ESM code imports the generated classes by name through Node's CJS interop.
    writeFileSync(
      path.join(genDir, "package.json"),
      `${JSON.stringify({ private: true, type: "commonjs" }, null, 2)}\n`,
    );

    rmSync(providerDir, { recursive: true, force: true });
    mkdirSync(path.dirname(providerDir), { recursive: true });
    try {
      renameSync(path.join(staging, "providers/volcengine"), providerDir);
    } catch (err) {
      // Another generator got there first with the same inputs: its result is as good as ours.
      if (!bindingsAreCurrent(opts)) throw err;
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }

  const files = written.length;
  return { generated: true, files, ms: performance.now() - started };
}

const isCli = process.argv[1] !== undefined && path.resolve(process.argv[1]) === generatorScript;
if (isCli) {
  generateBindings({ force: process.argv.includes("--force") })
    .then((r) => {
      if (r.generated) {
        console.log(
          `volcengine bindings: generated ${r.files} files in .gen/providers/volcengine (${Math.round(r.ms)} ms)`,
        );
      }
    })
    .catch((err: unknown) => {
      console.error(`volcengine bindings: generation failed: ${err instanceof Error ? err.stack : String(err)}`);
      process.exit(1);
    });
}
