/**
 * What a newcomer sees on `npm install` (postinstall: the bindings generator) and `cdktf synth`
 * (the app in infra/main.ts) carries no `[ERROR]`: cdktf relays a child's stderr and Terraform's
 * CLI-configuration warning that way. Run on a machine whose TF_CLI_CONFIG_FILE names a file
 * that does not exist (the case that printed `[ERROR] … problems with the CLI configuration`).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { TEST_PUBLIC_KEY, projectRoot } from "../infra/synth-helpers.js";
import { requireTool, terraformCommand } from "../support/tools.js";

const dir = mkdtempSync(path.join(tmpdir(), "todo-quiet-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const missingConfig = path.join(dir, "no-such.terraformrc");
const tsx = path.join(projectRoot, "node_modules/.bin/tsx");
// As a newcomer's shell has it: no CHECKPOINT_DISABLE (offline, cdktf's checkpoint call fails loudly).
const { CHECKPOINT_DISABLE: _checkpoint, ...inherited } = process.env;
const env = { ...inherited, TF_CLI_CONFIG_FILE: missingConfig, FORCE_COLOR: "0" };
const alarms = (text: string) =>
  text.split("\n").filter((l) => /\[ERROR\]|problems with the CLI configuration/.test(l));

describe("no alarming output from install and synth", () => {
  it.skipIf(requireTool("terraform").missing)(
    "the situation is real: Terraform itself warns about the missing CLI config",
    () => {
      const r = spawnSync(terraformCommand(), ["version"], { env, encoding: "utf8" });
      expect(r.stderr).toContain("problems with the CLI configuration");
    },
  );

  it("the postinstall bindings generator (forced to regenerate) prints no [ERROR] line", () => {
    const probe = path.join(dir, "generate.ts");
    writeFileSync(
      probe,
      `import { generateBindings } from ${JSON.stringify(path.join(projectRoot, "infra/bindings/generate.ts"))};\n` +
        `generateBindings({ genDir: ${JSON.stringify(path.join(dir, "gen"))}, force: true }).then((r) => console.log("generated", r.files));\n`,
    );
    const r = spawnSync(tsx, [probe], { env, encoding: "utf8", timeout: 180_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/generated \d+/);
    expect(alarms(`${r.stdout}\n${r.stderr}`)).toEqual([]);
    expect(r.stderr.trim()).toBe("");
  }, 200_000);

  it("the cdktf app (what `cdktf synth` runs) writes nothing to stderr, which cdktf would show as [ERROR]", () => {
    const outdir = path.join(dir, "cdktf.out");
    const r = spawnSync(tsx, [path.join(projectRoot, "infra/main.ts")], {
      cwd: projectRoot,
      encoding: "utf8",
      timeout: 240_000,
      env: {
        ...env,
        CDKTF_OUTDIR: outdir,
        // The committed example configuration, with a key that exists on any machine.
        TODO_STACK_CONFIG: path.join(projectRoot, "stack.config.example.json"),
        TODO_SSH_PUBLIC_KEY: TEST_PUBLIC_KEY,
      },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(path.join(outdir, "stacks", "todo-api-dev", "cdk.tf.json"))).toBe(true);
    expect(r.stdout).toContain("release:");
    expect(r.stderr).toBe("");
  }, 300_000);
});
