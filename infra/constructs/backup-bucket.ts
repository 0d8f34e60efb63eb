import { TerraformStack } from "cdktf";
import { Construct } from "constructs";
import { TosBucket } from "../../.gen/providers/volcengine/tos-bucket/index.js";
import { TosBucketLifecycle } from "../../.gen/providers/volcengine/tos-bucket-lifecycle/index.js";
import type { IamRole } from "../../.gen/providers/volcengine/iam-role/index.js";
import { createBackupRole } from "./backup-role.js";
import { tagBlocks } from "./tags.js";
import { BACKUP_PREFIX } from "../../contract/server.js";
import { TerraformData } from "./terraform-data.js";

export interface BackupBucketProps {
  /** Prefix of every resource name, e.g. "todo-api-dev" (`<project>-<environment>`). */
  readonly name: string;
  /** Globally unique TOS bucket name (it can never change: ForceNew, refused at plan). */
  readonly bucketName: string;
  /** Days after which the lifecycle rule expires a backup, and again an overwritten or expired (non-current) version. */
  readonly retentionDays: number;
  /** ECS instances that may write and read backups (the role is attached to each). */
  readonly instanceIds: readonly string[];
  /** Tags put on every taggable resource (the stack adds managed-by, app and environment). */
  readonly tags: Readonly<Record<string, string>>;
}

/** Name of the role the server(s) use for backups; IAM names allow letters, digits and .-_@ (≤ 64). */
export function backupRoleName(name: string): string {
  return `${name}-backup`;
}

/** Object key prefix of the database dumps (contract/server.ts); the lifecycle rule and the server agree on it. */
export { BACKUP_PREFIX };

/**
 * What backup and restore need, and nothing more: write a dump, read one back, list the dumps
 * (cloud-init/lib/offsite.mjs sends exactly PutObject, GetObject and ListObjectsV2, single-part).
 * Nothing that destroys history: no delete of an object or a version, no change to versioning,
 * the lifecycle rule, the bucket policy or an ACL. Those are denied explicitly as well, so a
 * broader policy attached to the role later does not grant them by accident (an explicit Deny wins
 * in Volcengine IAM: https://www.volcengine.com/docs/6349/102133). The bucket is versioned, so a
 * PutObject over an existing name keeps the old dump as a non-current version, which only the
 * lifecycle rule removes, after the retention.
 *
 * Policy syntax and names: resources `trn:tos:::<bucket>` (bucket) and `trn:tos:::<bucket>/<key>`
 * (objects), actions `tos:PutObject`/`tos:GetObject`/`tos:ListBucket`/`tos:DeleteObject` and
 * wildcards like `tos:Get*` as in Volcengine's TOS IAM examples (docs/6349/102133); the bucket
 * operation names (PutBucketVersioning, PutBucketPolicy, DeleteBucketPolicy, PutBucketACL,
 * PutLifecycleConfiguration, DeleteBucket) from TOS's list of authorizable operations
 * (https://docs.byteplus.com/en/docs/tos/docs-templates-and-parameters, the same service sold
 * outside China). The deny uses prefix wildcards (`tos:Delete*`, `tos:PutBucket*`) so that it
 * covers every delete and bucket setting whatever its exact name. Not checked against
 * Volcengine's policy validator or a live account (docs/operations.md).
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
      {
        Effect: "Deny",
        Action: [...BACKUP_ROLE_DENIED_ACTIONS],
        Resource: [`trn:tos:::${bucketName}`, `trn:tos:::${bucketName}/*`],
      },
    ],
  });
}

/**
 * What the server may never do to its backups: delete objects or versions (and the bucket, its
 * policy or lifecycle), change versioning, the lifecycle rule, the bucket policy or ACLs.
 */
export const BACKUP_ROLE_DENIED_ACTIONS = [
  "tos:Delete*",
  "tos:PutBucket*",
  "tos:PutLifecycleConfiguration",
  "tos:PutObjectACL",
] as const;

/**
 * The environment's off-server backups: a private, versioned TOS bucket whose lifecycle rule
 * expires dumps after `retentionDays` (and the versions they leave behind `retentionDays` later),
 * and an IAM role, trusted by ECS and attached to the server(s), whose only
 * policy allows writing/reading/listing dumps in that bucket. No access key is ever created:
 * the server gets short-lived credentials of the role from the instance metadata service.
 */
export class BackupBucket extends Construct {
  readonly bucketName: string;
  /** The bucket and its expiry rule: what `terraform state rm` takes out to keep the backups. */
  readonly bucket: TosBucket;
  readonly lifecycle: TosBucketLifecycle;
  readonly roleName: string;
  /** The servers' role (the files policy, when files are on, is attached to it as well). */
  readonly role: IamRole;
  readonly policyDocument: string;

  constructor(scope: Construct, id: string, props: BackupBucketProps) {
    super(scope, id);
    const bucket = new TosBucket(this, "bucket", {
      bucketName: props.bucketName,
      publicAcl: "private",
      storageClass: "STANDARD",
      // Versioning: an overwrite (PutObject on an existing name) keeps the previous dump as a
      // non-current version, which the role cannot delete. On an existing bucket this is an
      // in-place update (enable_version is not ForceNew; the provider calls PutBucketVersioning);
      // TOS can only suspend versioning afterwards, never turn it off (docs/deploy.md).
      enableVersion: true,
      tags: tagBlocks(props.tags),
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

    const rules = [
      {
        id: "expire-backups",
        status: "Enabled",
        prefix: BACKUP_PREFIX,
        expiration: { days: props.retentionDays },
        // With versioning, expiring a dump (or overwriting it) keeps it as a non-current
        // version: those go after the retention too, so a dump lives at most twice the
        // retention, and an overwritten one stays restorable for the retention. (Provider
        // 0.0.196 has no setting for expired delete markers: they stay, empty and unlisted.)
        nonCurrentVersionExpiration: { nonCurrentDays: props.retentionDays },
        abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
      },
    ];
    // What TOS reads back for the non-current expiry is uncertain: provider 0.0.196 sends
    // `NonCurrentVersionExpiration.NonCurrentDays` but reads `NoncurrentVersionExpiration` /
    // `NoncurrentDays` (TOS's own SDK spells it the latter way). Compared with what was sent, the
    // rules would show a change on every plan, or be silently incomplete. So the rules are never
    // compared (ignore_changes): they are written when the resource is created and again, by a
    // replacement, whenever what the stack wants changes (this record of them); the check below
    // warns at every plan if TOS did not keep the non-current expiry.
    const wanted = new TerraformData(this, "lifecycle-rules", { input: { rules: JSON.stringify(rules) } });
    this.lifecycle = new TosBucketLifecycle(this, "lifecycle", {
      bucketName: bucket.bucketName,
      lifecycle: {
        ignoreChanges: ["rules"],
        // The address as a plain string: cdktf would render the construct as "${...}", which
        // Terraform refuses in replace_triggered_by.
        replaceTriggeredBy: [`${wanted.terraformResourceType}.${wanted.friendlyUniqueId}`],
        // The servers are told the configured name (user data) and the IAM policy names it: they
        // must match the bucket that exists. Happens with an environment deployed before the
        // default name stopped depending on the SSH key, or after editing backups.bucketName.
        precondition: [
          {
            condition: `\${${bucket.terraformResourceType}.${bucket.friendlyUniqueId}.bucket_name == ${JSON.stringify(props.bucketName)}}`,
            errorMessage: `The backup bucket of this environment is named \${${bucket.terraformResourceType}.${bucket.friendlyUniqueId}.bucket_name}, but the configuration says ${props.bucketName}. A bucket cannot be renamed: set "backups": { "bucketName": "<the existing name>" } in stack.config.json.`,
          },
        ],
      },
      rules,
    });
    const lifecycleAddress = `${this.lifecycle.terraformResourceType}.${this.lifecycle.friendlyUniqueId}`;
    TerraformStack.of(this).addOverride("check.backup_versions_expire", {
      assert: [
        {
          condition: `\${anytrue([for rule in ${lifecycleAddress}.rules : length(rule.non_current_version_expiration) > 0])}`,
          error_message: `TOS did not keep the backup bucket's expiry of non-current versions (the lifecycle rule "expire-backups" reads back without it), so overwritten and expired dumps are never deleted. Write the rules again once, in cdktf.out/stacks/<stack>: terraform apply -replace=${lifecycleAddress}; if this warning stays, add it in the TOS console: bucket ${props.bucketName}, rule expire-backups, non-current versions after ${props.retentionDays} days (docs/deploy.md).`,
        },
      ],
    });

    const roleName = backupRoleName(props.name);
    this.policyDocument = backupPolicyDocument(props.bucketName);
    this.role = createBackupRole(this, { ...props, roleName, policyDocument: this.policyDocument });

    this.bucketName = props.bucketName;
    this.bucket = bucket;
    this.roleName = roleName;
  }
}
