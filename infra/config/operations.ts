import { createHash } from "node:crypto";
import { z } from "zod";
import { tosBucketName } from "../../contract/validation.js";

/**
 * Operations settings of an environment: where backups go off the server and who hears about
 * trouble. Kept apart from the rest of the stack configuration (schema.ts composes them).
 */

/** Backups kept in a private TOS bucket of the environment (always created). */
export const backupsSchema = z
  .strictObject({
    /** Days a backup object stays in the bucket; a lifecycle rule deletes it afterwards. */
    retentionDays: z.number().int().min(1).max(3650).default(30),
    /**
     * Bucket name. TOS bucket names are global across all accounts, so the default carries a
     * hash of the stack name, region and state location (defaultBackupBucketName); set one to
     * choose it yourself. It can never change for an existing environment.
     */
    bucketName: tosBucketName.optional(),
    /**
     * S3-compatible TOS endpoint the server uploads to. Default `https://tos-s3-<region>.volces.com`
     * (see defaultTosS3Endpoint); `https://tos-s3-<region>.ivolces.com` is the in-region private one.
     */
    endpoint: z
      .url({ protocol: /^https$/, error: "must be an https:// URL" })
      .refine((u) => !/['"\\$`\s]/.test(u), "must not contain quotes, $, backslashes or spaces")
      .optional(),
  })
  .prefault({});

/**
 * Alarms (CloudMonitor). Optional: without it no contact group or alarm rule is created — an
 * alarm nobody receives is only a cost and a false sense of safety.
 */
export const alertsSchema = z
  .strictObject({
    /** Receives every alarm (CloudMonitor contact in a contact group of this environment). */
    email: z.email("must be an e-mail address that receives the alarms"),
    /**
     * `true`: CloudMonitor also calls a webhook for every alarm (e.g. a chat bot), and the server's
     * own alerts (todo-alert) post to it. The URL carries a token, so it is a deploy-time secret,
     * `TF_VAR_alert_webhook`, like the other secrets: never in this file, the synthesized JSON or a
     * plan. A URL written here is refused with the message saying so.
     */
    webhook: z
      .union([z.boolean(), z.string()])
      .refine((v) => typeof v === "boolean", {
        error:
          'the webhook URL is a secret and must not be in stack.config.json (it would be written into cdk.tf.json and printed by plans): write "webhook": true here and set TF_VAR_alert_webhook to the URL when you deploy',
      })
      .transform((v) => v === true)
      .optional(),
  })
  .optional();

export type BackupsConfig = z.output<typeof backupsSchema>;
export type AlertsConfig = z.output<typeof alertsSchema>;

/**
 * Default backup bucket name: `<project>-<environment>-backups-<8 hex>`. TOS bucket names are
 * global, so a bare `todo-api-dev-backups` would collide between users of this project. The hash
 * is of what identifies the environment's Terraform state, nothing about the person deploying:
 * the stack name, the region and where the state lives (`s3://<bucket>/<key prefix>` for the
 * shared TOS backend, whose bucket name is itself globally unique; `local` otherwise). A new SSH
 * key or a second computer therefore keeps the name (bucket_name is ForceNew: a new name would
 * mean a new, empty bucket). With local state two people who keep the default project name can
 * pick the same name; TOS then refuses the second bucket (BucketAlreadyExists) and
 * `backups.bucketName` chooses another (docs/deploy.md).
 */
export function defaultBackupBucketName(stackName: string, region: string, stateLocation: string): string {
  const hash = createHash("sha256").update(`${stackName}\0${region}\0${stateLocation}`).digest("hex").slice(0, 8);
  const suffix = `-backups-${hash}`;
  return `${stackName.slice(0, 63 - suffix.length).replace(/-+$/, "")}${suffix}`;
}

/**
 * The default of earlier versions, derived from the admin's SSH public key. Only to tell the owner
 * of an existing environment which name to pin (see BackupBucket's name check).
 */
export function legacyBackupBucketName(stackName: string, sshPublicKey: string): string {
  const hash = createHash("sha256").update(`${stackName}\0${sshPublicKey}`).digest("hex").slice(0, 8);
  const suffix = `-backups-${hash}`;
  return `${stackName.slice(0, 63 - suffix.length).replace(/-+$/, "")}${suffix}`;
}

/**
 * TOS's S3-compatible endpoint of a region. The host names are those Volcengine's own TOS SDK
 * for Rust lists as TOS's S3 endpoints (to refuse them for its native protocol):
 * `TOS_S3_ENDPOINTS` in volcengine/ve-tos-rust-sdk, src/constant.rs — `tos-s3-<region>.volces.com`
 * (public) and `tos-s3-<region>.ivolces.com` (private), for cn-beijing, cn-beijing2, cn-shanghai,
 * cn-guangzhou, cn-hongkong, ap-southeast-1 and ap-southeast-3. Not tried against TOS from here.
 */
export function defaultTosS3Endpoint(region: string): string {
  return `https://tos-s3-${region}.volces.com`;
}
