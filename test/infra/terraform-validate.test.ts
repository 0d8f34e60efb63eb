/**
 * `terraform validate` of every synthesized variant with the REAL providers: the provider's own
 * ValidateFuncs, ConflictsWith / ExactlyOneOf and required-together rules run there, unlike in
 * the schema check (harness/terraform-schema/), which is the only check without the binary.
 *
 * The binaries come from a Terraform filesystem mirror named by VOLCENGINE_PROVIDER_MIRROR (the
 * directory holding `registry.terraform.io/...`, see docs/deploy.md "For maintainers"); nothing is
 * downloaded. Without it the test is skipped with the reason in its title, never failed: the
 * provider (github.com/volcengine/terraform-provider-volcengine@v0.0.196) cannot be built on
 * these machines because the Go module proxy answers "403 Forbidden ... This module version is
 * not available." for it.
 */
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ADDRESS_VARIANTS } from "./address-variants.js";
import { providerMirror, terraformWithMirror } from "./provider-mirror.js";
import { RDS, baseEnvironment, cleanupSynthDirs, synth } from "./synth-helpers.js";

const mirror = providerMirror();
const why = mirror.missing;
// Also on the console: a skipped test's title is easy to miss in a long run.
if (why) console.warn(`terraform validate with the real providers: skipped, ${why}`);
const VALIDATED: Record<string, Record<string, unknown>> = {
  ...Object.fromEntries(
    [
      "single local",
      "single rds + domain + alerts",
      "cluster with certificate + alerts",
      "cluster without certificate",
    ].map((v) => [v, ADDRESS_VARIANTS[v]!]),
  ),
  "cluster with autoScaling + files": baseEnvironment({
    topology: "cluster",
    database: RDS,
    cluster: { autoScaling: { minServers: 1, maxServers: 4 } },
    files: {},
  }),
};

afterAll(cleanupSynthDirs);

describe("terraform validate with the real providers", () => {
  if (why) {
    it.skip(`skipped: ${why}`, () => {});
    return;
  }
  it.each(Object.keys(VALIDATED))(
    "%s is valid",
    async (variant) => {
      const result = await synth({ environments: { v: VALIDATED[variant]! } });
      const dir = path.join(result.outdir, "stacks", "todo-api-v");
      const terraform = terraformWithMirror(mirror.path!, dir);
      try {
        const init = terraform(["init", "-backend=false", "-input=false", "-no-color"]);
        expect(init.status, `${init.stdout}\n${init.stderr}`).toBe(0);
        const validate = terraform(["validate", "-json", "-no-color"]);
        const report = JSON.parse(validate.stdout) as {
          valid: boolean;
          diagnostics: { severity: string; summary: string; detail?: string }[];
        };
        const errors = report.diagnostics
          .filter((d) => d.severity === "error")
          .map((d) => `${d.summary}: ${d.detail ?? ""}`);
        expect(errors).toEqual([]);
        expect(report.valid).toBe(true);
      } finally {
        terraform.cleanup();
      }
    },
    180_000,
  );
});
