/**
 * Existing environments keep their Terraform state: every address main synthesized before the
 * stack was split per topology (fixtures/addresses.json) is still there,
 * except the security group rules that are now named by what they are, and each of those has a
 * `moved` block from its old address (checked with the real Terraform CLI below, offline).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fixture from "./fixtures/addresses.json";
import { ADDRESS_VARIANTS, addressesOf } from "./address-variants.js";
import { cleanupSynthDirs, synth, type TfJson } from "./synth-helpers.js";
import { terraformCommand, requireTool } from "../support/tools.js";

const synthesized: Record<string, TfJson> = {};
beforeAll(async () => {
  for (const [variant, env] of Object.entries(ADDRESS_VARIANTS)) {
    synthesized[variant] = (await synth({ environments: { v: env } })).stacks["todo-api-v"]!;
  }
});
afterAll(cleanupSynthDirs);

/**
 * Additions that are new things, not moved ones: file-reading locals, the keep-backups output, the
 * CLB rule, the alert webhook variable, the data-loss guard's records (the files bucket's too), the backup rules' and policy's records, the role's propagation wait,
 * the upper half of each group's egress (the lower half is the old egress-all rule, moved).
 */
const NEW_ADDRESS = [
  /^local\.[\w-]+_(ssh-private-key|certificate-pem|certificate-key)_content_[0-9A-F]{8}$/,
  /^output\.keep_backups_command$/,
  /^var\.alert_webhook$/,
  /^terraform_data\.data_guard(_(database|backups|files)(_presence)?)?$/,
  /^terraform_data\.backups_(lifecycle-rules|policy-document|role-propagation)_[0-9A-F]{8}$/,
  /^volcengine_security_group_rule\.network_app-ingress-80-from-100-64-0-0-10_[0-9A-F]{8}$/,
  /^volcengine_security_group_rule\.network_((app|bastion)-)?egress-all-upper-half_[0-9A-F]{8}$/,
];
/** The cluster's old port-80 rule allowed the load balancer subnet, which the CLB never uses. */
const DROPPED_ADDRESS = [/^volcengine_security_group_rule\.network_app-ingress-80-0_[0-9A-F]{8}$/];

describe.each(Object.keys(ADDRESS_VARIANTS))("variant %s", (variant) => {
  it("keeps every address of main, or moves it with a moved block", () => {
    const tf = synthesized[variant]!;
    const before = (fixture as Record<string, string[]>)[variant]!;
    const now = addressesOf(tf);
    const moved: { from: string; to: string }[] = tf.moved ?? [];
    const gone = before.filter((a) => !now.includes(a));
    const added = now.filter((a) => !before.includes(a));
    for (const address of gone) {
      const move = moved.find((m) => m.from === address);
      if (DROPPED_ADDRESS.some((re) => re.test(address))) continue;
      expect(move, `${address} disappeared without a moved block`).toBeDefined();
      expect(now).toContain(move!.to);
      expect(move!.to.split(".")[0]).toBe(address.split(".")[0]);
    }
    for (const address of added) {
      const isMoveTarget = moved.some((m) => m.to === address);
      expect(isMoveTarget || NEW_ADDRESS.some((re) => re.test(address)), `unexpected new address ${address}`).toBe(
        true,
      );
    }
    // Only security group rules move; nothing else changed its address.
    for (const m of moved) expect(m.from).toMatch(/^volcengine_security_group_rule\./);
  });
});

const hasTerraform = requireTool("terraform").available;

describe.skipIf(!hasTerraform)("the moved blocks, applied by Terraform (offline, terraform_data stand-ins)", () => {
  it("move the state of main's rules to the new addresses: nothing to add or destroy", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "todo-tf-moved-"));
    const run = (args: string[]) =>
      spawnSync(terraformCommand(), args, {
        cwd: dir,
        encoding: "utf8",
        env: { ...process.env, TF_CLI_CONFIG_FILE: "/dev/null", TF_IN_AUTOMATION: "1", CHECKPOINT_DISABLE: "1" },
        timeout: 60_000,
      });
    // A resource type without a provider: the same names, with the type swapped for terraform_data.
    const asData = (address: string) => address.replace(/^volcengine_security_group_rule\./, "terraform_data.");
    const config = (names: string[], moved: { from: string; to: string }[] = []) =>
      JSON.stringify({
        resource: { terraform_data: Object.fromEntries(names.map((n) => [n.split(".")[1], { input: "rule" }])) },
        ...(moved.length ? { moved: moved.map((m) => ({ from: asData(m.from), to: asData(m.to) })) } : {}),
      });
    try {
      for (const variant of Object.keys(ADDRESS_VARIANTS)) {
        rmSync(path.join(dir, "terraform.tfstate"), { force: true });
        const tf = synthesized[variant]!;
        const before = (fixture as Record<string, string[]>)[variant]!.filter(
          (a) => a.startsWith("volcengine_security_group_rule.") && !DROPPED_ADDRESS.some((re) => re.test(a)),
        );
        const now = addressesOf(tf).filter(
          (a) => a.startsWith("volcengine_security_group_rule.") && !NEW_ADDRESS.some((re) => re.test(a)),
        );
        writeFileSync(path.join(dir, "main.tf.json"), config(before));
        expect(run(["init", "-input=false"]).status).toBe(0);
        const apply = run(["apply", "-auto-approve", "-input=false", "-no-color"]);
        expect(apply.status, apply.stderr).toBe(0);
        writeFileSync(path.join(dir, "main.tf.json"), config(now, tf.moved ?? []));
        const plan = run(["plan", "-input=false", "-no-color", "-detailed-exitcode"]);
        expect(plan.stderr).toBe("");
        expect(plan.stdout, variant).toMatch(/No changes|0 to add, 0 to change, 0 to destroy/);
        expect(plan.stdout).toContain("has moved to");
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
