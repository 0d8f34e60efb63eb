/**
 * The real providers (volcengine 0.0.196, null 3.2.4) from a Terraform filesystem mirror named by
 * VOLCENGINE_PROVIDER_MIRROR (the directory holding `registry.terraform.io/...`, see
 * docs/deploy.md "For maintainers"); nothing is downloaded. Without it, suites that need the
 * binaries are skipped with the reason, never failed: the provider
 * (github.com/volcengine/terraform-provider-volcengine@v0.0.196) cannot be built on these machines
 * because the Go module proxy answers "403 Forbidden ... This module version is not available."
 */
import { spawn, spawnSync, type SpawnSyncReturns } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { requireTool, terraformCommand } from "../support/tools.js";

const PROVIDERS = [
  {
    source: "registry.terraform.io/volcengine/volcengine",
    version: "0.0.196",
    binary: "terraform-provider-volcengine_v0.0.196",
  },
  { source: "registry.terraform.io/hashicorp/null", version: "3.2.4", binary: "terraform-provider-null_v3.2.4_x5" },
];
const platform = `${process.platform}_${process.arch === "x64" ? "amd64" : process.arch}`;

/** The mirror's root, or why the real providers cannot run here. */
export function providerMirror(): { path?: string; missing?: string } {
  const terraform = requireTool("terraform");
  // Declared so the missing-tools summary counts it; strict mode only reports it (tools.ts says why).
  const provider = requireTool("terraform-provider-volcengine");
  /** VOLCENGINE_PROVIDER_MIRROR, else the mirror the binary was found in. */
  const mirror =
    process.env.VOLCENGINE_PROVIDER_MIRROR ??
    (provider.path?.includes("/registry.terraform.io/")
      ? provider.path.slice(0, provider.path.indexOf("/registry.terraform.io/"))
      : undefined);
  if (terraform.missing) return { missing: "no terraform CLI (TERRAFORM_BINARY_NAME or terraform on PATH)" };
  if (!mirror) {
    return {
      missing:
        "no provider binary in a filesystem mirror (VOLCENGINE_PROVIDER_MIRROR): the Go module proxy here answers 403 Forbidden for " +
        "github.com/volcengine/terraform-provider-volcengine@v0.0.196, so it cannot be built; docs/deploy.md, For maintainers",
    };
  }
  for (const p of PROVIDERS) {
    const file = path.join(mirror, p.source, p.version, platform, p.binary);
    if (!existsSync(file)) return { missing: `no ${file} in the provider mirror` };
  }
  return { path: mirror };
}

/**
 * A terraform runner in `dir` that installs providers from the mirror only (never the registry);
 * `cleanup()` removes its CLI configuration and data directory.
 */
export function terraformWithMirror(
  mirror: string,
  dir: string,
  extraEnv: Record<string, string> = {},
): ((args: string[]) => SpawnSyncReturns<string>) & { cleanup(): void } {
  const cli = mkdtempSync(path.join(tmpdir(), "todo-tf-cli-"));
  const config = path.join(cli, "terraform.rc");
  writeFileSync(
    config,
    `provider_installation {\n  filesystem_mirror {\n    path = ${JSON.stringify(mirror)}\n  }\n}\n`,
  );
  const env = {
    ...process.env,
    TF_CLI_CONFIG_FILE: config,
    TF_IN_AUTOMATION: "1",
    CHECKPOINT_DISABLE: "1",
    TF_DATA_DIR: path.join(cli, "data"),
    ...extraEnv,
  };
  const run = (args: string[]) =>
    spawnSync(terraformCommand(), args, { cwd: dir, env, encoding: "utf8", timeout: 120_000 });
  return Object.assign(run, { cleanup: () => rmSync(cli, { recursive: true, force: true }) });
}

/**
 * As terraformWithMirror, but asynchronous: for a stand-in (local-cloud/) that answers the provider
 * from the test's own process, which a synchronous child would block. Resolves with the exit
 * status and the combined output.
 */
export function terraformWithMirrorAsync(
  mirror: string,
  dir: string,
  extraEnv: Record<string, string> = {},
): ((args: string[]) => Promise<{ status: number; out: string }>) & { cleanup(): void } {
  const cli = mkdtempSync(path.join(tmpdir(), "todo-tf-cli-"));
  const config = path.join(cli, "terraform.rc");
  writeFileSync(
    config,
    `provider_installation {\n  filesystem_mirror {\n    path = ${JSON.stringify(mirror)}\n  }\n}\n`,
  );
  const env = {
    ...process.env,
    TF_CLI_CONFIG_FILE: config,
    TF_IN_AUTOMATION: "1",
    CHECKPOINT_DISABLE: "1",
    TF_DATA_DIR: path.join(cli, "data"),
    ...extraEnv,
  };
  const run = (args: string[]) =>
    new Promise<{ status: number; out: string }>((resolve) => {
      const child = spawn(terraformCommand(), args, { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.stderr.on("data", (d: Buffer) => (out += d.toString()));
      child.on("close", (code) => resolve({ status: code ?? 1, out }));
    });
  return Object.assign(run, { cleanup: () => rmSync(cli, { recursive: true, force: true }) });
}
