import { TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import { IamPolicy } from "../../.gen/providers/volcengine/iam-policy/index.js";
import { IamRole } from "../../.gen/providers/volcengine/iam-role/index.js";
import { IamRoleAttachment } from "../../.gen/providers/volcengine/iam-role-attachment/index.js";
import { IamRolePolicyAttachment } from "../../.gen/providers/volcengine/iam-role-policy-attachment/index.js";
import { apiDescription } from "./description.js";
import { tagBlocks } from "./tags.js";
import { TerraformData } from "./terraform-data.js";

/**
 * ECS instances may assume the role (the metadata service hands the instance temporary
 * credentials of its attached role). Service principal "ecs" as in Volcengine's IAM docs for
 * service roles; unverified against a live account.
 */
export const ECS_TRUST_POLICY = JSON.stringify({
  Statement: [{ Effect: "Allow", Action: ["sts:AssumeRole"], Principal: { Service: ["ecs"] } }],
});

export interface BackupRoleProps {
  /** Prefix of every resource name, e.g. "todo-api-dev". */
  readonly name: string;
  /** The role's name (backupRoleName). */
  readonly roleName: string;
  /** The bucket the policy names. */
  readonly bucketName: string;
  /** The policy document (backupPolicyDocument). */
  readonly policyDocument: string;
  /** ECS instances the role is attached to. */
  readonly instanceIds: readonly string[];
  /** Tags of the role. */
  readonly tags: Readonly<Record<string, string>>;
}

/**
 * Milliseconds the deploy waits between creating the role and attaching it to the servers. IAM is
 * eventually consistent and provider 0.0.196 attaches without retrying
 * (service_volcengine_iam_role_attachment.go): attaching a role created a moment before can fail
 * with "role not found". Run by `node` on the deploying machine (there on every machine that
 * runs cdktf), only when the role is created or replaced.
 */
export const ROLE_PROPAGATION_MS = 15_000;

/**
 * The servers' backup role, in the scope of the BackupBucket (construct ids "role", "policy",
 * "role-policy", "attachment"...: the addresses of existing environments). Two guards around the
 * provider:
 * - the attachments (the policy to the role, the role to the servers) wait for the role to
 *   propagate (above);
 * - the policy document is never compared with what IAM returns (the provider has no diff
 *   suppression for `policy_document`, unlike the role's trust policy: if IAM stores it
 *   normalised, every deploy would update it). A change of the wanted document replaces the policy
 *   and its attachment to the role instead (detached, deleted, created, attached again), through
 *   the record `policy-document`. A check warns at every plan when the policy in IAM says
 *   something else than the stack's document (compared as JSON, so formatting does not count):
 *   e.g. an environment whose policy predates the document's Deny statement.
 */
export function createBackupRole(scope: Construct, props: BackupRoleProps): IamRole {
  const role = new IamRole(scope, "role", {
    roleName: props.roleName,
    displayName: `${props.name} backups`,
    description: apiDescription(
      `Lets the ${props.name} servers write and read database backups in TOS bucket ${props.bucketName}`,
    ),
    trustPolicyDocument: ECS_TRUST_POLICY,
    // Short sessions: the metadata service renews them; a leaked token is useless sooner.
    maxSessionDuration: 3600,
    tags: tagBlocks(props.tags),
  });

  const wanted = new TerraformData(scope, "policy-document", { input: { document: props.policyDocument } });
  const wantedAddress = `${wanted.terraformResourceType}.${wanted.friendlyUniqueId}`;
  const policy = new IamPolicy(scope, "policy", {
    policyName: `${props.name}-backup-tos`,
    description: apiDescription(`Write, read and list database backups in TOS bucket ${props.bucketName} only`),
    policyDocument: props.policyDocument,
    lifecycle: { ignoreChanges: ["policy_document"], replaceTriggeredBy: [wantedAddress] },
  });
  const propagation = new TerraformData(scope, "role-propagation", {
    triggersReplace: { role: role.id },
    provisioners: [
      {
        type: "local-exec",
        command: `setTimeout(() => {}, ${ROLE_PROPAGATION_MS})`,
        interpreter: ["node", "-e"],
      },
    ],
  });
  const attachment = new IamRolePolicyAttachment(scope, "role-policy", {
    roleName: role.roleName,
    policyName: policy.policyName,
    policyType: "Custom",
    lifecycle: { replaceTriggeredBy: [wantedAddress] },
    // AttachRolePolicy answers "role not found" for a role created a moment before, as the
    // instance association does.
    dependsOn: [propagation],
  });
  const address = (r: IamPolicy | IamRolePolicyAttachment) => `${r.terraformResourceType}.${r.friendlyUniqueId}`;
  TerraformStack.of(scope).addOverride("check.backup_policy_current", {
    assert: [
      {
        condition: `\${jsondecode(${address(policy)}.policy_document) == jsondecode(${wantedAddress}.output.document)}`,
        error_message: `The backup role's policy in IAM (${props.name}-backup-tos) is not the one this stack wants. Replace it once, in cdktf.out/stacks/<stack>: terraform apply -replace=${address(policy)} -replace=${address(attachment)} (docs/deploy.md).`,
      },
    ],
  });

  props.instanceIds.forEach((instanceId, i) => {
    new IamRoleAttachment(scope, props.instanceIds.length === 1 ? "attachment" : `attachment-${i + 1}`, {
      iamRoleName: role.roleName,
      instanceId,
      dependsOn: [propagation],
    });
  });
  return role;
}
