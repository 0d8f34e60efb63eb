/**
 * The backup bucket's lifecycle rule whatever TOS reads back for the non-current-version expiry
 * (provider 0.0.196 sends `NonCurrentVersionExpiration.NonCurrentDays` and reads
 * `NoncurrentVersionExpiration.NoncurrentDays`: TOS may keep it under either name, or drop it):
 * the rules are never compared with what TOS returns, so the next plan is clean in every case; a
 * change of what the stack wants (the retention) writes the rules again; and a rule TOS dropped is
 * reported by a check at every plan. Run in the real Terraform CLI on stand-ins of the lifecycle
 * resource holding each possible read-back.
 */
import { afterAll, describe, expect, it } from "vitest";
import { baseEnvironment, cleanupSynthDirs, resources, synth, type TfJson } from "./synth-helpers.js";
import { hasTerraform, TerraformDir } from "./terraform-stand-in.js";

afterAll(cleanupSynthDirs);

const stack = async (retentionDays: number): Promise<TfJson> =>
  (await synth({ environments: { prod: baseEnvironment({ backups: { retentionDays } }) } })).stacks["todo-api-prod"]!;

describe("the backup lifecycle rule", () => {
  it("is written on creation and on a change of the wanted rules, never compared with the read-back", async () => {
    const tf = await stack(30);
    const lifecycle = resources(tf, "volcengine_tos_bucket_lifecycle")[0]!;
    const record = Object.entries<any>(tf.resource.terraform_data).find(([n]) =>
      n.startsWith("backups_lifecycle-rules"),
    )!;
    expect(lifecycle.lifecycle.ignore_changes).toEqual(["rules"]);
    expect(lifecycle.lifecycle.replace_triggered_by).toEqual([`terraform_data.${record[0]}`]);
    expect(JSON.parse(record[1].input.rules)[0].nonCurrentVersionExpiration).toEqual({ nonCurrentDays: 30 });
    expect(lifecycle.rules[0].non_current_version_expiration).toEqual({ non_current_days: 30 });
    expect(tf.check.backup_versions_expire.assert[0].condition).toContain("non_current_version_expiration");
  });

  describe.skipIf(!hasTerraform)("in a real plan", () => {
    const dir = new TerraformDir();
    afterAll(() => dir.dispose());
    /** The lifecycle resource as a stand-in holding `readBack` as its rules; its record and check as synthesized. */
    const config = (tf: TfJson, readBack: Record<string, unknown>[]) => {
      const [name, lifecycle] = Object.entries<any>(tf.resource.volcengine_tos_bucket_lifecycle)[0]!;
      const [recordName, record] = Object.entries<any>(tf.resource.terraform_data).find(([n]) =>
        n.startsWith("backups_lifecycle-rules"),
      )!;
      const standIn = `lifecycle_${name}`;
      const retarget = (text: string) =>
        text.replace(`volcengine_tos_bucket_lifecycle.${name}.rules`, `terraform_data.${standIn}.output.rules`);
      const assert = tf.check.backup_versions_expire.assert[0];
      return {
        resource: {
          terraform_data: {
            [recordName]: record,
            [standIn]: {
              input: { rules: readBack },
              lifecycle: { ignore_changes: ["input"], replace_triggered_by: lifecycle.lifecycle.replace_triggered_by },
            },
          },
        },
        check: {
          backup_versions_expire: { assert: [{ ...assert, condition: retarget(assert.condition) }] },
        },
      };
    };
    const kept = [{ id: "expire-backups", non_current_version_expiration: [{ non_current_days: 30 }] }];
    const dropped = [{ id: "expire-backups", non_current_version_expiration: [] }];

    it("plans clean after the deploy, whichever way TOS answered", async () => {
      const tf = await stack(30);
      dir.write(config(tf, kept));
      const init = dir.init();
      expect(init.status, init.stderr).toBe(0);
      const apply = dir.apply();
      expect(apply.status, apply.stderr).toBe(0);
      // What the provider reads back next time differs from what was sent: no change planned.
      dir.write(config(tf, dropped));
      const plan = dir.run(["plan", "-input=false", "-no-color", "-detailed-exitcode"]);
      expect(plan.stdout).toContain("No changes");
      expect(plan.status).toBe(0);
    });

    it("warns at every plan when TOS dropped the non-current expiry", async () => {
      const tf = await stack(30);
      dir.write(config(tf, kept));
      expect(dir.plan().stdout).not.toContain("Check block assertion failed");
      // A state whose rules were read back without the expiry (the provider's Read stores what TOS returns).
      const dropping = new TerraformDir();
      try {
        dropping.write(config(tf, dropped));
        expect(dropping.init().status).toBe(0);
        expect(dropping.apply().status).toBe(0);
        const warned = dropping.plan();
        expect(warned.status).toBe(0);
        expect(`${warned.stdout}${warned.stderr}`.replace(/[│\s]+/g, " ")).toContain(
          "TOS did not keep the backup bucket's expiry of non-current versions",
        );
      } finally {
        dropping.dispose();
      }
    });

    it("writes the rules again when the retention changes", async () => {
      dir.write(config(await stack(45), kept));
      const plan = dir.plan();
      expect(plan.status).toBe(0);
      expect(plan.stdout).toMatch(/terraform_data\.lifecycle_\S+ will be replaced/);
    });
  });
});
