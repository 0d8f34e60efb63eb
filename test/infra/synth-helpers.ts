/**
 * Shared helpers of the infra tests: build stack configurations in memory, synthesize them into
 * a temp directory with the real cdktf App, and read back each stack's cdk.tf.json.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { generateBindings } from "../../infra/bindings/generate.js";
import { loadProviderSchemas } from "../../harness/terraform-schema/schemas.js";

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const TEST_PUBLIC_KEY =
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE8rBqkH1m2oQpX7m4kV3r8gkJm9u2cC5y0cN8i6bWcd infra-test@example";

/** Values that must never appear in any synthesized file. */
export const SENTINELS = {
  VOLCENGINE_ACCESS_KEY: "AKLT-SENTINEL-ACCESS-KEY-7f3a",
  VOLCENGINE_SECRET_KEY: "SENTINEL-SECRET-KEY-9c1d",
  VOLCENGINE_SESSION_TOKEN: "SENTINEL-SESSION-TOKEN-44b2",
  TF_VAR_db_password: "SentinelDbPassw0rd!",
  TF_VAR_jwt_secret: "SentinelJwtSecretSentinelJwtSecret0123456789",
} as const;

export type TfJson = Record<string, any>;

export function baseEnvironment(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    region: "cn-beijing",
    zone: "cn-beijing-a",
    instanceType: "ecs.c3i.large",
    image: { platform: "Ubuntu", version: "24.04" },
    ssh: {
      publicKey: TEST_PUBLIC_KEY,
      privateKeyPath: "~/.ssh/id_ed25519",
      adminCidrs: ["198.51.100.7/32", "203.0.113.0/28"],
    },
    ...overrides,
  };
}

export const RDS = {
  mode: "rds",
  engineVersion: "PostgreSQL_16",
  nodeSpec: "rds.postgres.1c2g",
  storageGb: 20,
  secondaryZone: "cn-beijing-b",
};
export const HTTPS = { domain: "api.example.com", acmeEmail: "ops@example.com" };

let bindingsReady: Promise<unknown> | undefined;
/** The infra modules import .gen, so they are loaded only after the bindings exist. */
export async function infra() {
  bindingsReady ??= generateBindings();
  await bindingsReady;
  const [{ parseStackConfig }, { buildApp }] = await Promise.all([
    import("../../infra/config/load.js"),
    import("../../infra/app.js"),
  ]);
  return { parseStackConfig, buildApp };
}

export interface SynthOptions {
  environments: Record<string, Record<string, unknown>>;
  state?: Record<string, unknown>;
  release?: { path: string; hash: string };
  env?: NodeJS.ProcessEnv;
}

export interface SynthResult {
  outdir: string;
  stacks: Record<string, TfJson>;
  /** Raw text of every stack's cdk.tf.json, concatenated (for secret greps). */
  text: string;
}

const outdirs: string[] = [];

export async function synth(opts: SynthOptions): Promise<SynthResult> {
  const { parseStackConfig, buildApp } = await infra();
  const outdir = mkdtempSync(path.join(tmpdir(), "todo-infra-synth-"));
  outdirs.push(outdir);
  const release = opts.release ?? fakeRelease(outdir, "0123456789ab");
  const config = parseStackConfig(
    { project: "todo-api", state: opts.state ?? { backend: "local" }, environments: opts.environments },
    { source: path.join(projectRoot, "stack.config.json"), env: opts.env ?? {} },
  );
  const { app, stacks } = buildApp({ config, release, outdir });
  app.synth();
  const result: SynthResult = { outdir, stacks: {}, text: "" };
  for (const stack of stacks) {
    const file = path.join(outdir, "stacks", stack.node.id, "cdk.tf.json");
    const text = readFileSync(file, "utf8");
    result.stacks[stack.node.id] = JSON.parse(text);
    result.text += text;
  }
  return result;
}

export function fakeRelease(dir: string, hash: string): { path: string; hash: string } {
  const file = path.join(dir, `todo-api-${hash}.tar.gz`);
  writeFileSync(file, "not a real tarball");
  return { path: file, hash };
}

export function cleanupSynthDirs(): void {
  for (const d of outdirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export function resources(tf: TfJson, type: string): Record<string, any>[] {
  return Object.values(tf.resource?.[type] ?? {});
}

export function projectSchemas() {
  return loadProviderSchemas(
    path.join(projectRoot, "infra/provider/volcengine.schema.json"),
    path.join(projectRoot, "infra/provider/null.schema.json"),
  );
}
