/**
 * The servers' backup role around two gaps of provider 0.0.196: the policy is attached to the role,
 * and the role to the servers, only after a propagation wait that runs when the role is created (the attachment has no
 * retry, and IAM is eventually consistent), and the policy document is never compared with what
 * IAM stores (no diff suppression: a normalised document would update the policy at every deploy);
 * a change of the wanted document replaces the policy and its attachment instead.
 */
import { afterAll, describe, expect, it } from "vitest";
import { ROLE_PROPAGATION_MS } from "../../infra/constructs/backup-role.js";
import { RDS, baseEnvironment, cleanupSynthDirs, resources, synth, type TfJson } from "./synth-helpers.js";
import { hasTerraform, TerraformDir } from "./terraform-stand-in.js";

afterAll(cleanupSynthDirs);

const stackOf = async (env: Record<string, unknown>): Promise<TfJson> =>
  (await synth({ environments: { prod: env } })).stacks["todo-api-prod"]!;
const record = (tf: TfJson, prefix: string) =>
  Object.entries<Record<string, any>>(tf.resource.terraform_data).find(([n]) => n.startsWith(prefix))!;

describe.each([
  ["single", baseEnvironment()],
  ["cluster", baseEnvironment({ topology: "cluster", database: RDS })],
])("%s: the backup role", (_topology, env) => {
  it("is attached only after the propagation wait, which runs when the role is created", async () => {
    const tf = await stackOf(env);
    const [waitName, wait] = record(tf, "backups_role-propagation");
    const role = Object.keys(tf.resource.volcengine_iam_role)[0];
    expect(wait.triggers_replace).toEqual({ role: `\${volcengine_iam_role.${role}.id}` });
    expect(wait.provisioner[0]["local-exec"]).toMatchObject({
      interpreter: ["node", "-e"],
      command: `setTimeout(() => {}, ${ROLE_PROPAGATION_MS})`,
    });
    const attachments = resources(tf, "volcengine_iam_role_attachment");
    expect(attachments.length).toBeGreaterThan(0);
    for (const a of attachments) expect(a.depends_on).toEqual([`terraform_data.${waitName}`]);
    // The policy's attachment to the role waits too: AttachRolePolicy also answers "role not
    // found" for a role created a moment before.
    const [policyAttachment] = resources(tf, "volcengine_iam_role_policy_attachment");
    expect(policyAttachment!.depends_on).toEqual([`terraform_data.${waitName}`]);
  });

  it("keeps the policy document out of the comparison; a new document replaces policy and attachment", async () => {
    const tf = await stackOf(env);
    const [docName, doc] = record(tf, "backups_policy-document");
    const [policy] = resources(tf, "volcengine_iam_policy");
    expect(doc.input.document).toBe(policy!.policy_document);
    expect(policy!.lifecycle).toEqual({
      ignore_changes: ["policy_document"],
      replace_triggered_by: [`terraform_data.${docName}`],
    });
    const [attachment] = resources(tf, "volcengine_iam_role_policy_attachment");
    expect(attachment!.lifecycle).toEqual({ replace_triggered_by: [`terraform_data.${docName}`] });
  });
});

describe.skipIf(!hasTerraform)("the propagation wait in Terraform", () => {
  it("runs with the node on the deploying machine, and not again while the role stays", async () => {
    const tf = await stackOf(baseEnvironment());
    const [name, wait] = record(tf, "backups_role-propagation");
    const dir = new TerraformDir();
    try {
      const config = (roleId: string) => ({
        resource: {
          terraform_data: {
            [name]: {
              ...wait,
              triggers_replace: { role: roleId },
              provisioner: [
                { "local-exec": { ...wait.provisioner[0]["local-exec"], command: "setTimeout(() => {}, 10)" } },
              ],
            },
          },
        },
      });
      dir.write(config("role-1"));
      expect(dir.init().status).toBe(0);
      const first = dir.apply();
      expect(first.stderr).toBe("");
      expect(first.stdout).toContain("Provisioning with 'local-exec'");
      expect(dir.plan().stdout).toContain("No changes");
      dir.write(config("role-2"));
      expect(dir.plan().stdout).toMatch(/must be replaced/);
    } finally {
      dir.dispose();
    }
  });
});

describe.skipIf(!hasTerraform)("the policy check in Terraform", () => {
  it("accepts the document however IAM formats it, and warns when it says something else", async () => {
    const tf = await stackOf(baseEnvironment());
    const [docName, doc] = record(tf, "backups_policy-document");
    const [policyName] = Object.keys(tf.resource.volcengine_iam_policy);
    const assert = tf.check.backup_policy_current.assert[0];
    const run = (stored: string) => {
      const dir = new TerraformDir();
      try {
        dir.write({
          resource: {
            terraform_data: {
              [docName]: doc,
              policy: { input: { policy_document: stored } },
            },
          },
          check: {
            backup_policy_current: {
              assert: [
                {
                  ...assert,
                  condition: assert.condition.replace(
                    `volcengine_iam_policy.${policyName}.policy_document`,
                    "terraform_data.policy.output.policy_document",
                  ),
                },
              ],
            },
          },
        });
        expect(dir.init().status).toBe(0);
        expect(dir.apply().status).toBe(0);
        const plan = dir.plan();
        return `${plan.stdout}${plan.stderr}`.replace(/[│\s]+/g, " ");
      } finally {
        dir.dispose();
      }
    };
    const wanted = JSON.parse(doc.input.document);
    expect(run(JSON.stringify(wanted, null, 4))).not.toContain("is not the one this stack wants");
    const withoutDeny = { Statement: wanted.Statement.filter((s: { Effect: string }) => s.Effect !== "Deny") };
    expect(run(JSON.stringify(withoutDeny))).toContain("is not the one this stack wants. Replace it once");
  });
});
