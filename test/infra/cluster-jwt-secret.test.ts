import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { requireTool, terraformCommand } from "../support/tools.js";
import { resources, synth, useSentinelEnvironment } from "./synth-helpers.js";
import { variants } from "./cluster-helpers.js";

useSentinelEnvironment();

const hasTerraform = requireTool("terraform").available;

describe.skipIf(!hasTerraform)("cluster jwt_secret validation (terraform CLI, offline)", () => {
  it("refuses a short secret, stops a deploy without one, and lets destroy run without one", async () => {
    const tf = (await synth({ environments: { prod: variants["2 servers, no certificate"].env } })).stacks[
      "todo-api-prod"
    ]!;
    const dir = mkdtempSync(path.join(tmpdir(), "todo-tf-jwt-"));
    try {
      // The variable and the deploy step's jwt precondition on a provider-free stand-in resource.
      const step = resources(tf, "null_resource")[0]!;
      const jwtCheck = step.lifecycle.precondition.filter((p: any) => p.condition.includes("var.jwt_secret"));
      expect(jwtCheck).toHaveLength(1);
      writeFileSync(
        path.join(dir, "main.tf.json"),
        JSON.stringify({
          variable: { jwt_secret: tf.variable.jwt_secret },
          resource: { terraform_data: { deploy: { input: "release", lifecycle: { precondition: jwtCheck } } } },
        }),
      );
      // No TF_VAR_* from this process (the tests set sentinel values there).
      const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("TF_VAR_")));
      const run = (args: string[]) =>
        spawnSync(terraformCommand(), args, {
          cwd: dir,
          encoding: "utf8",
          env: { ...env, TF_CLI_CONFIG_FILE: "/dev/null", TF_IN_AUTOMATION: "1", CHECKPOINT_DISABLE: "1" },
          timeout: 60_000,
        });
      expect(run(["init", "-input=false"]).status).toBe(0);
      const plan = (value: string) => run(["plan", "-input=false", "-no-color", "-var", `jwt_secret=${value}`]);
      const empty = run(["plan", "-input=false", "-no-color"]);
      expect(empty.status).not.toBe(0);
      expect(empty.stderr).toContain("Set TF_VAR_jwt_secret");
      const short = plan("short");
      expect(short.status).not.toBe(0);
      expect(short.stderr).toContain("all servers share it");
      const secret = `${"A".repeat(40)}+/=_.-`;
      expect(run(["apply", "-auto-approve", "-input=false", "-var", `jwt_secret=${secret}`]).status).toBe(0);
      // Destroy from another computer: no TF_VAR_jwt_secret at all.
      const destroy = run(["destroy", "-auto-approve", "-input=false", "-no-color"]);
      expect(destroy.status, destroy.stderr).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
