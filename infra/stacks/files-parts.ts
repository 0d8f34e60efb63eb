import { TerraformOutput } from "cdktf";
import type { Construct } from "constructs";
import type { IamRole } from "../../.gen/providers/volcengine/iam-role/index.js";
import { filesCredentialsPath } from "../../contract/server.js";
import type { ResolvedEnvironment } from "../config/schema.js";
import { FilesBucket } from "../constructs/files-bucket.js";

/**
 * What both topologies do the same way when `files` is configured: the bucket with its policy
 * (construct id "files"), the API's FILES_* settings and the outputs. Nothing here exists without
 * `files`, so an environment that does not turn them on synthesizes exactly as before.
 */

export type FilesSettings = NonNullable<ResolvedEnvironment["files"]>;

/** The bucket, its rules and the policy on every role the app servers hold. */
export function filesBucket(
  scope: Construct,
  name: string,
  env: ResolvedEnvironment,
  tags: Record<string, string>,
  servers: { existingRoles: readonly IamRole[]; instancesWithoutRole: readonly string[] },
): FilesBucket | undefined {
  const files = env.files;
  if (!files) return undefined;
  return new FilesBucket(scope, "files", {
    name,
    bucketName: files.bucketName,
    keyPrefix: files.keyPrefix,
    corsOrigins: files.corsOrigins,
    abortIncompleteUploadsDays: files.abortIncompleteUploadsDays,
    ...servers,
    tags,
  });
}

/**
 * The API's files settings in its env file (written by the deploy step with `todo-release set-env`,
 * so `todo-config` shows them and every release keeps them). No secret: the credentials come from
 * the file the server's credentials unit keeps fresh. Limits only when configured (else the API's
 * defaults).
 */
export function filesEnvSettings(env: ResolvedEnvironment): Record<string, string> {
  const files = env.files;
  if (!files) return {};
  return {
    FILES_STORAGE: "tos",
    FILES_TOS_BUCKET: files.bucketName,
    FILES_TOS_REGION: env.region,
    FILES_TOS_ENDPOINT: files.endpoint,
    FILES_TOS_KEY_PREFIX: files.keyPrefix,
    FILES_CREDENTIALS_FILE: filesCredentialsPath(),
    ...(files.maxBytes !== undefined ? { FILES_MAX_BYTES: String(files.maxBytes) } : {}),
    ...(files.quotaBytes !== undefined ? { FILES_QUOTA_BYTES: String(files.quotaBytes) } : {}),
    ...(files.maxPerTodo !== undefined ? { FILES_MAX_PER_TODO: String(files.maxPerTodo) } : {}),
    ...(files.allowedTypes ? { FILES_ALLOWED_TYPES: files.allowedTypes.join(",") } : {}),
  };
}

/** `files_bucket`, and the command that keeps the attachments when the environment is destroyed. */
export function filesOutputs(scope: Construct, files: FilesBucket | undefined): void {
  if (!files) return;
  new TerraformOutput(scope, "files_bucket", {
    value: files.bucketName,
    description: "Private TOS bucket holding the attachments (docs/files.md)",
  });
  const kept = [files.bucket, files.lifecycle, ...(files.cors ? [files.cors] : [])];
  new TerraformOutput(scope, "keep_files_command", {
    value: `terraform state rm ${kept.map((r) => `${r.terraformResourceType}.${r.friendlyUniqueId}`).join(" ")}`,
    description:
      "Run in cdktf.out/stacks/<stack> before `cdktf destroy` to keep the files bucket with the attachments. Otherwise empty the bucket first: TOS refuses to delete a bucket that holds objects (docs/files.md, Destroy)",
  });
}
