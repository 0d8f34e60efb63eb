import { TerraformStack } from "cdktf";
import { Construct } from "constructs";
import { IamPolicy } from "../../.gen/providers/volcengine/iam-policy/index.js";
import { IamRole } from "../../.gen/providers/volcengine/iam-role/index.js";
import { IamRoleAttachment } from "../../.gen/providers/volcengine/iam-role-attachment/index.js";
import { IamRolePolicyAttachment } from "../../.gen/providers/volcengine/iam-role-policy-attachment/index.js";
import { TosBucket } from "../../.gen/providers/volcengine/tos-bucket/index.js";
import { TosBucketCors } from "../../.gen/providers/volcengine/tos-bucket-cors/index.js";
import { TosBucketLifecycle } from "../../.gen/providers/volcengine/tos-bucket-lifecycle/index.js";
import { ECS_TRUST_POLICY, ROLE_PROPAGATION_MS } from "./backup-role.js";
import { apiDescription } from "./description.js";
import { filesPolicyDocument, filesPolicyName, filesRoleName } from "./files-policy.js";
import { tagBlocks } from "./tags.js";
import { TerraformData } from "./terraform-data.js";

export interface FilesBucketProps {
  /** Prefix of every resource name, e.g. "todo-api-dev". */
  readonly name: string;
  /** Globally unique TOS bucket name (ForceNew: never changed, refused at plan). */
  readonly bucketName: string;
  /** Object key prefix of the attachments; the policy allows nothing outside it. */
  readonly keyPrefix: string;
  /** Web origins of the CORS rule; empty: no CORS rule. */
  readonly corsOrigins: readonly string[];
  /** Days after which an unfinished multipart upload is aborted. */
  readonly abortIncompleteUploadsDays: number;
  /**
   * Roles the servers already hold (an ECS instance holds one role): the files policy is attached
   * to each. The backup role of the server that exports backups.
   */
  readonly existingRoles: readonly IamRole[];
  /**
   * Servers without a role: they get the files role, which holds the files policy only (a
   * cluster's servers after the first).
   */
  readonly instancesWithoutRole: readonly string[];
  readonly tags: Readonly<Record<string, string>>;
}

/**
 * The environment's attachments: a private, unversioned TOS bucket (a deleted attachment is gone,
 * as the API promises on account deletion), its lifecycle rule aborting unfinished multipart
 * uploads, an optional CORS rule for web clients, and the policy letting the servers
 * Put/Get/Head/Delete under the files prefix. Every app server gets the policy through the one
 * role it may hold. Turning files on creates these and changes nothing that exists.
 */
export class FilesBucket extends Construct {
  readonly bucketName: string;
  readonly bucket: TosBucket;
  readonly lifecycle: TosBucketLifecycle;
  readonly cors?: TosBucketCors;
  readonly policyDocument: string;
  /** The role of the servers in `instancesWithoutRole` (absent when there are none). */
  readonly role?: IamRole;
  /** The policy attachments: a deploy waits for them, so the servers' credentials carry the policy. */
  readonly ready: IamRolePolicyAttachment[] = [];

  constructor(scope: Construct, id: string, props: FilesBucketProps) {
    super(scope, id);
    const bucket = new TosBucket(this, "bucket", {
      bucketName: props.bucketName,
      publicAcl: "private",
      storageClass: "STANDARD",
      tags: tagBlocks(props.tags),
      // As the backup bucket: no prevent_destroy (it would make every destroy fail); TOS refuses
      // to delete a bucket that holds objects, so keeping or emptying it is the owner's choice
      // before destroying (the keep_files_command output, docs/files.md). A changed name would
      // delete the bucket with the attachments: refused below instead.
      lifecycle: { ignoreChanges: ["bucket_name"] },
    });
    const bucketAddress = `${bucket.terraformResourceType}.${bucket.friendlyUniqueId}`;
    this.lifecycle = new TosBucketLifecycle(this, "lifecycle", {
      bucketName: bucket.bucketName,
      rules: [
        {
          id: "abort-incomplete-uploads",
          status: "Enabled",
          prefix: props.keyPrefix,
          abortIncompleteMultipartUpload: { daysAfterInitiation: props.abortIncompleteUploadsDays },
        },
      ],
      lifecycle: {
        precondition: [
          {
            condition: `\${${bucketAddress}.bucket_name == ${JSON.stringify(props.bucketName)}}`,
            errorMessage: `The files bucket of this environment is named \${${bucketAddress}.bucket_name}, but the configuration says ${props.bucketName}. A bucket cannot be renamed: set "files": { "bucketName": "<the existing name>" } in stack.config.json.`,
          },
        ],
      },
    });
    if (props.corsOrigins.length > 0) {
      this.cors = new TosBucketCors(this, "cors", {
        bucketName: bucket.bucketName,
        corsRules: [
          {
            allowedOrigins: [...props.corsOrigins],
            // Presigned PUT (upload), GET (download through the API's redirect) and HEAD.
            allowedMethods: ["PUT", "GET", "HEAD"],
            // A presigned PUT from a browser sends Content-Type (and what the API told it to send).
            allowedHeaders: ["*"],
            exposeHeaders: ["ETag", "X-Tos-Request-Id"],
            maxAgeSeconds: 3600,
          },
        ],
      });
    }

    this.policyDocument = filesPolicyDocument(props.bucketName, props.keyPrefix);
    // As the backup role's policy: never compared with what IAM reads back (IAM may normalise
    // it); a change of the wanted document replaces the policy and its attachments.
    const wanted = new TerraformData(this, "policy-document", { input: { document: this.policyDocument } });
    const wantedAddress = `${wanted.terraformResourceType}.${wanted.friendlyUniqueId}`;
    const policy = new IamPolicy(this, "policy", {
      policyName: filesPolicyName(props.name),
      description: apiDescription(
        `Put, get, head and delete attachments under ${props.keyPrefix} in TOS bucket ${props.bucketName} only`,
      ),
      policyDocument: this.policyDocument,
      lifecycle: { ignoreChanges: ["policy_document"], replaceTriggeredBy: [wantedAddress] },
    });
    const policyAddress = `${policy.terraformResourceType}.${policy.friendlyUniqueId}`;
    TerraformStack.of(this).addOverride("check.files_policy_current", {
      assert: [
        {
          condition: `\${jsondecode(${policyAddress}.policy_document) == jsondecode(${wantedAddress}.output.document)}`,
          error_message: `The files policy in IAM (${filesPolicyName(props.name)}) is not the one this stack wants. Replace it once, in cdktf.out/stacks/<stack>: terraform apply -replace=${policyAddress} (docs/files.md).`,
        },
      ],
    });
    const attach = (id: string, role: IamRole, dependsOn: TerraformData[] = []): void => {
      this.ready.push(
        new IamRolePolicyAttachment(this, id, {
          roleName: role.roleName,
          policyName: policy.policyName,
          policyType: "Custom",
          lifecycle: { replaceTriggeredBy: [wantedAddress] },
          dependsOn,
        }),
      );
    };
    for (const [i, role] of props.existingRoles.entries())
      attach(i === 0 ? "role-policy" : `role-policy-${i + 1}`, role);

    if (props.instancesWithoutRole.length > 0) {
      const role = new IamRole(this, "role", {
        roleName: filesRoleName(props.name),
        displayName: `${props.name} files`,
        description: apiDescription(
          `Lets the ${props.name} app servers sign attachments in TOS bucket ${props.bucketName}`,
        ),
        trustPolicyDocument: ECS_TRUST_POLICY,
        maxSessionDuration: 3600,
        tags: tagBlocks(props.tags),
      });
      // IAM is eventually consistent: wait before attaching a role created a moment ago (backup-role.ts).
      const propagation = new TerraformData(this, "role-propagation", {
        triggersReplace: { role: role.id },
        provisioners: [
          {
            type: "local-exec",
            command: `setTimeout(() => {}, ${ROLE_PROPAGATION_MS})`,
            interpreter: ["node", "-e"],
          },
        ],
      });
      attach("files-role-policy", role, [propagation]);
      props.instancesWithoutRole.forEach((instanceId, i) => {
        new IamRoleAttachment(this, `attachment-${i + 1}`, {
          iamRoleName: role.roleName,
          instanceId,
          dependsOn: [propagation],
        });
      });
      this.role = role;
    }
    this.bucketName = props.bucketName;
    this.bucket = bucket;
  }
}
