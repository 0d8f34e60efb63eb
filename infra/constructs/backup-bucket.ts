import { Construct } from "constructs";
import { IamPolicy } from "../../.gen/providers/volcengine/iam-policy";
import { IamRole } from "../../.gen/providers/volcengine/iam-role";
import { IamRoleAttachment } from "../../.gen/providers/volcengine/iam-role-attachment";
import { IamRolePolicyAttachment } from "../../.gen/providers/volcengine/iam-role-policy-attachment";
import { TosBucket } from "../../.gen/providers/volcengine/tos-bucket";
import { TosBucketLifecycle } from "../../.gen/providers/volcengine/tos-bucket-lifecycle";
import { tagBlocks } from "./tags";
import { apiDescription } from "./description";
import { BACKUP_PREFIX } from "../../contract/server";

export interface BackupBucketConfig {
  /** Prefix of resource names, e.g. "todo-api-dev". */
  name: string;
  /** Globally unique TOS bucket name. */
  bucketName: string;
  /** Days after which the lifecycle rule deletes a backup object. */
  retentionDays: number;
  /** ECS instances that may write and read backups (the role is attached to each). */
  instanceIds: readonly string[];
  tags: Readonly<Record<string, string>>;
}

/** Name of the role the server(s) use for backups; IAM names allow letters, digits and .-_@ (≤ 64). */
export function backupRoleName(name: string): string {
  return `${name}-backup`;
}

/** Object key prefix of the database dumps (contract/server.ts); the lifecycle rule and the server agree on it. */
export { BACKUP_PREFIX };

/**
 * What backup and restore need, and nothing more: write a dump, read one back, list the dumps.
 * No delete (the lifecycle rule expires old dumps, so a compromised server cannot wipe the
 * history), no bucket-level administration, and no other bucket.
 *
 * Policy syntax and TOS resource names (`trn:tos:::<bucket>` for the bucket,
 * `trn:tos:::<bucket>/<key>` for objects, actions `tos:PutObject`/`tos:GetObject`/`tos:ListBucket`)
 * follow the examples seen in public material (the provider's `volcengine_tos_bucket_policy`
 * example uses `trn:tos:::<bucket>`; published TOS STS/IAM policies use `trn:tos:::<bucket>/<prefix>/*`).
 * Not checked against Volcengine's policy validator or a live account (docs/operations.md).
 */
export function backupPolicyDocument(bucketName: string): string {
  return JSON.stringify({
    Statement: [
      {
        Effect: "Allow",
        Action: ["tos:PutObject", "tos:GetObject"],
        Resource: [`trn:tos:::${bucketName}/${BACKUP_PREFIX}*`],
      },
      {
        Effect: "Allow",
        Action: ["tos:ListBucket"],
        Resource: [`trn:tos:::${bucketName}`],
      },
    ],
  });
}

/**
 * ECS instances may assume the role (the metadata service hands the instance temporary
 * credentials of its attached role). Service principal "ecs" as in Volcengine's IAM docs for
 * service roles; unverified against a live account.
 */
export const ECS_TRUST_POLICY = JSON.stringify({
  Statement: [{ Effect: "Allow", Action: ["sts:AssumeRole"], Principal: { Service: ["ecs"] } }],
});

/**
 * The environment's off-server backups: a private TOS bucket whose lifecycle rule expires dumps
 * after `retentionDays`, and an IAM role, trusted by ECS and attached to the server(s), whose only
 * policy allows writing/reading/listing dumps in that bucket. No access key is ever created:
 * the server gets short-lived credentials of the role from the instance metadata service.
 */
export class BackupBucket extends Construct {
  readonly bucketName: string;
  /** The bucket and its expiry rule: what `terraform state rm` takes out to keep the backups. */
  readonly bucket: TosBucket;
  readonly lifecycle: TosBucketLifecycle;
  readonly roleName: string;
  readonly policyDocument: string;

  constructor(scope: Construct, id: string, config: BackupBucketConfig) {
    super(scope, id);
    const bucket = new TosBucket(this, "bucket", {
      bucketName: config.bucketName,
      publicAcl: "private",
      storageClass: "STANDARD",
      tags: tagBlocks(config.tags),
      // No prevent_destroy: it would make every `cdktf destroy` fail. TOS refuses to delete a
      // bucket that still holds objects (the provider has no force-destroy and retries the
      // delete for 15 minutes), so what happens to the backups on destroy is the owner's
      // deliberate choice, made before destroying (docs/deploy.md "Destroy"): keep them (the
      // `keep_backups_command` output takes the bucket out of the state, with its expiry rule) or
      // empty the bucket first.
      lifecycle: {
        // bucket_name is ForceNew: a changed name would mean deleting the bucket with the backups
        // in it. A different configured name is refused below instead, before anything changes.
        ignoreChanges: ["bucket_name"],
      },
    });

    this.lifecycle = new TosBucketLifecycle(this, "lifecycle", {
      bucketName: bucket.bucketName,
      lifecycle: {
        // The servers are told the configured name (user data) and the IAM policy names it: they
        // must match the bucket that exists. Happens with an environment deployed before the
        // default name stopped depending on the SSH key, or after editing backups.bucketName.
        precondition: [
          {
            condition: `\${${bucket.terraformResourceType}.${bucket.friendlyUniqueId}.bucket_name == ${JSON.stringify(config.bucketName)}}`,
            errorMessage: `The backup bucket of this environment is named \${${bucket.terraformResourceType}.${bucket.friendlyUniqueId}.bucket_name}, but the configuration says ${config.bucketName}. A bucket cannot be renamed: set "backups": { "bucketName": "<the existing name>" } in stack.config.json.`,
          },
        ],
      },
      rules: [
        {
          id: "expire-backups",
          status: "Enabled",
          prefix: BACKUP_PREFIX,
          expiration: { days: config.retentionDays },
          abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
        },
      ],
    });

    const roleName = backupRoleName(config.name);
    const role = new IamRole(this, "role", {
      roleName,
      displayName: `${config.name} backups`,
      description: apiDescription(`Lets the ${config.name} servers write and read database backups in TOS bucket ${config.bucketName}`),
      trustPolicyDocument: ECS_TRUST_POLICY,
      // Short sessions: the metadata service renews them; a leaked token is useless sooner.
      maxSessionDuration: 3600,
      tags: tagBlocks(config.tags),
    });

    this.policyDocument = backupPolicyDocument(config.bucketName);
    const policy = new IamPolicy(this, "policy", {
      policyName: `${config.name}-backup-tos`,
      description: apiDescription(`Write, read and list database backups in TOS bucket ${config.bucketName} only`),
      policyDocument: this.policyDocument,
    });

    new IamRolePolicyAttachment(this, "role-policy", {
      roleName: role.roleName,
      policyName: policy.policyName,
      policyType: "Custom",
    });

    config.instanceIds.forEach((instanceId, i) => {
      new IamRoleAttachment(this, config.instanceIds.length === 1 ? "attachment" : `attachment-${i + 1}`, {
        iamRoleName: role.roleName,
        instanceId,
      });
    });

    this.bucketName = config.bucketName;
    this.bucket = bucket;
    this.roleName = roleName;
  }
}
