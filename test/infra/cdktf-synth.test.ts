/**
 * The real CLI path a user takes: `npx cdktf synth` with no Volcengine credentials and no
 * network, building the release and generating bindings as needed. One run (it takes a while).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkTerraformJson } from "../../harness/terraform-schema/check.js";
import { formatProblems } from "../../harness/terraform-schema/schemas.js";
import { SENTINELS, TEST_PUBLIC_KEY, projectRoot, projectSchemas } from "./synth-helpers.js";

const outdir = mkdtempSync(path.join(tmpdir(), "todo-cdktf-synth-"));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe("npx cdktf synth", () => {
  it("runs offline without VOLCENGINE_* credentials, leaks no secret, and writes valid stacks", () => {
    const env = Object.fromEntries(
      Object.entries(process.env).filter(
        ([k]) => !k.startsWith("VOLCENGINE_") && !k.startsWith("TODO_") && !k.startsWith("TF_VAR_"),
      ),
    );
    const r = spawnSync("npx", ["cdktf", "synth", "--output", outdir], {
      cwd: projectRoot,
      encoding: "utf8",
      timeout: 240_000,
      env: {
        ...env,
        // No VOLCENGINE_* at all; secrets given to Terraform must not reach the output.
        TF_VAR_db_password: SENTINELS.TF_VAR_db_password,
        TF_VAR_jwt_secret: SENTINELS.TF_VAR_jwt_secret,
        // The committed example configuration, with a key that exists on any machine.
        TODO_STACK_CONFIG: path.join(projectRoot, "stack.config.example.json"),
        TODO_SSH_PUBLIC_KEY: TEST_PUBLIC_KEY,
        CHECKPOINT_DISABLE: "1",
        CI: "1",
      },
    });
    const log = `${r.stdout}\n${r.stderr}`;
    expect(r.status, log).toBe(0);
    for (const stack of ["todo-api-dev", "todo-api-prod"]) {
      const file = path.join(outdir, "stacks", stack, "cdk.tf.json");
      expect(existsSync(file), `${file}\n${log}`).toBe(true);
      const text = readFileSync(file, "utf8");
      for (const secret of Object.values(SENTINELS)) expect(text).not.toContain(secret);
      const tf = JSON.parse(text);
      expect(formatProblems(checkTerraformJson(tf, projectSchemas()))).toBe("");
      expect(tf.provider.volcengine).toEqual([{ region: "cn-beijing" }]);
      // The deploy step ships a release that synth built from app/.
      const deploy = Object.values(tf.resource.null_resource)[0] as any;
      const source: string = deploy.provisioner.find((p: any) => p.file).file.source;
      expect(source).toMatch(/todo-api-[0-9a-f]{12}\.tar\.gz$/);
      expect(existsSync(source)).toBe(true);
      expect(deploy.triggers.release_hash).toBe(source.match(/todo-api-([0-9a-f]{12})\.tar\.gz$/)![1]);
    }
  }, 300_000);
});
