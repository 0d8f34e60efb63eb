/**
 * `terraform validate` of every synthesized variant with the REAL providers: the provider's own
 * ValidateFuncs, ConflictsWith / ExactlyOneOf and required-together rules run there, unlike in
 * the schema check (infra/validate/schema-check.ts), which is the only check without the binary.
 *
 * The binaries come from a Terraform filesystem mirror named by VOLCENGINE_PROVIDER_MIRROR (the
 * directory holding `registry.terraform.io/...`, see docs/deploy.md "For maintainers"); nothing is
 * downloaded. Without it the test is skipped with the reason in its title, never failed: the
 * provider (github.com/volcengine/terraform-provider-volcengine@v0.0.196) cannot be built on
 * these machines because the Go module proxy answers "403 Forbidden ... This module version is
 * not available." for it.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ADDRESS_VARIANTS } from "./address-variants";
import { cleanupSynthDirs, synth } from "./synth-helpers";
import { requireTool, terraformCommand } from "../support/tools.js";

const PROVIDERS = [
  { source: "registry.terraform.io/volcengine/volcengine", version: "0.0.196", binary: "terraform-provider-volcengine_v0.0.196" },
  { source: "registry.terraform.io/hashicorp/null", version: "3.2.4", binary: "terraform-provider-null_v3.2.4_x5" },
];
const platform = `${process.platform}_${process.arch === "x64" ? "amd64" : process.arch}`;
const terraform = requireTool("terraform");
// Declared so the missing-tools summary counts it; strict mode only reports it (tools.ts says why).
const provider = requireTool("terraform-provider-volcengine");
/** The mirror root: VOLCENGINE_PROVIDER_MIRROR, else the mirror the binary was found in. */
const mirror =
  process.env.VOLCENGINE_PROVIDER_MIRROR ??
  (provider.path?.includes("/registry.terraform.io/") ? provider.path.slice(0, provider.path.indexOf("/registry.terraform.io/")) : undefined);

/** Why the test cannot run here, or undefined when it can. */
function missing(): string | undefined {
  if (terraform.missing) return "no terraform CLI (TERRAFORM_BINARY_NAME or terraform on PATH)";
  if (!mirror) {
    return (
      "no provider binary in a filesystem mirror (VOLCENGINE_PROVIDER_MIRROR): the Go module proxy here answers 403 Forbidden for " +
      "github.com/volcengine/terraform-provider-volcengine@v0.0.196, so it cannot be built; docs/deploy.md, For maintainers"
    );
  }
  for (const p of PROVIDERS) {
    const file = path.join(mirror, p.source, p.version, platform, p.binary);
    if (!existsSync(file)) return `no ${file} in the provider mirror`;
  }
  return undefined;
}

const why = missing();
// Also on the console: a skipped test's title is easy to miss in a long run.
if (why) console.warn(`terraform validate with the real providers: skipped, ${why}`);
const VALIDATED = ["single local", "single rds + domain + alerts", "cluster with certificate + alerts", "cluster without certificate"];

afterAll(cleanupSynthDirs);

describe("terraform validate with the real providers", () => {
  if (why) {
    it.skip(`skipped: ${why}`, () => {});
    return;
  }
  it.each(VALIDATED)("%s is valid", async (variant) => {
    const result = await synth({ environments: { v: ADDRESS_VARIANTS[variant]! } });
    const dir = path.join(result.outdir, "stacks", "todo-api-v");
    const cli = mkdtempSync(path.join(tmpdir(), "todo-tf-cli-"));
    try {
      const config = path.join(cli, "terraform.rc");
      // The mirror only: never the registry.
      writeFileSync(config, `provider_installation {\n  filesystem_mirror {\n    path = ${JSON.stringify(mirror)}\n  }\n}\n`);
      const env = { ...process.env, TF_CLI_CONFIG_FILE: config, TF_IN_AUTOMATION: "1", CHECKPOINT_DISABLE: "1", TF_DATA_DIR: path.join(cli, "data") };
      const init = spawnSync(terraformCommand(), ["init", "-backend=false", "-input=false", "-no-color"], { cwd: dir, env, encoding: "utf8", timeout: 120_000 });
      expect(init.status, `${init.stdout}\n${init.stderr}`).toBe(0);
      const validate = spawnSync(terraformCommand(), ["validate", "-json", "-no-color"], { cwd: dir, env, encoding: "utf8", timeout: 120_000 });
      const report = JSON.parse(validate.stdout) as { valid: boolean; diagnostics: { severity: string; summary: string; detail?: string }[] };
      const errors = report.diagnostics.filter((d) => d.severity === "error").map((d) => `${d.summary}: ${d.detail ?? ""}`);
      expect(errors).toEqual([]);
      expect(report.valid).toBe(true);
    } finally {
      rmSync(cli, { recursive: true, force: true });
    }
  }, 180_000);
});
