import type { Construct } from "constructs";
import { TerraformOutput, TerraformVariable, type TerraformStack } from "cdktf";
import type { ResolvedEnvironment } from "../config/schema.js";
import { Alarms, type MetricAlarm } from "../constructs/alarms.js";
import type { BackupBucket } from "../constructs/backup-bucket.js";
import { PostgresDatabase } from "../constructs/postgres-database.js";

/**
 * What both topologies compose the same way: the deploy-time secrets, RDS, the alarms, and the
 * outputs they share. Construct ids here are the ones the single stack always used, so the
 * Terraform addresses of existing environments do not move.
 *
 * Secrets are Terraform variables WITH a default (""): `cdktf destroy` evaluates every variable,
 * and one without a default made destroy demand TF_VAR_db_password / TF_VAR_jwt_secret. Where a
 * secret is needed, a precondition on the resource that uses it says so at plan time, and
 * destroy (which checks no preconditions) works with only credentials and the state.
 */

export type RdsSettings = Extract<ResolvedEnvironment["database"], { mode: "rds" }>;

const JWT_FORMAT = `(length(var.jwt_secret) >= 32 && can(regex("^[A-Za-z0-9+/=_.-]+$", var.jwt_secret)))`;

/** `jwt_secret`: optional for one server (it generates its own), required to deploy a cluster. */
export function jwtSecretVariable(
  stack: TerraformStack,
  topology: "single" | "cluster",
): { value: string; preconditions: { condition: string; errorMessage: string }[] } {
  const cluster = topology === "cluster";
  const variable = new TerraformVariable(stack, "jwt_secret", {
    type: "string",
    sensitive: true,
    nullable: false,
    default: "",
    description: cluster
      ? "JWT signing secret shared by all app servers (>= 32 characters of [A-Za-z0-9+/=_.-]). Set TF_VAR_jwt_secret, e.g. to the output of `openssl rand -base64 48`; not needed to destroy."
      : "JWT signing secret for the API (>= 32 characters of [A-Za-z0-9+/=_.-]). Set TF_VAR_jwt_secret; empty = keep the one the server generated at setup.",
    validation: [
      {
        condition: `\${var.jwt_secret == "" || ${JWT_FORMAT}}`,
        errorMessage: cluster
          ? "jwt_secret must be at least 32 characters of letters, digits and +/=_.- (all servers share it)"
          : "jwt_secret must be empty or at least 32 characters of letters, digits and +/=_.-",
      },
    ],
  });
  // Every server must sign and verify tokens with the same secret, so the one each server would
  // generate for itself at setup cannot be kept.
  const preconditions = cluster
    ? [
        {
          condition: '${var.jwt_secret != ""}',
          errorMessage:
            "Set TF_VAR_jwt_secret (at least 32 characters, e.g. `openssl rand -base64 48`): all servers of a cluster share it. It is not needed to destroy.",
        },
      ]
    : [];
  return { value: variable.stringValue, preconditions };
}

/**
 * Mail for the API's password reset and e-mail verification, when `mail` is configured: MAIL_FROM
 * as a plain setting, and the `smtp_url` variable (TF_VAR_smtp_url, it carries the relay's
 * password) for the secrets step. A precondition asks for it at deploy; destroy does not need it.
 */
export function mailSettings(
  stack: TerraformStack,
  env: ResolvedEnvironment,
): {
  settings: Record<string, string>;
  smtpUrl?: string;
  preconditions: { condition: string; errorMessage: string }[];
} {
  if (!env.mail) return { settings: {}, preconditions: [] };
  const smtpUrl = new TerraformVariable(stack, "smtp_url", {
    type: "string",
    sensitive: true,
    nullable: false,
    default: "",
    description:
      "SMTP relay for the API's mail, smtps://USER:PASSWORD@HOST:465 or smtp://USER:PASSWORD@HOST:587 (URL-encode the password). Set TF_VAR_smtp_url; not needed to destroy.",
    validation: [
      {
        condition: `\${var.smtp_url == "" || can(regex("^smtps?://[^' ]+$", var.smtp_url))}`,
        errorMessage: "smtp_url must be an smtp:// or smtps:// URL without quotes or spaces (URL-encode the password)",
      },
    ],
  });
  return {
    settings: { MAIL_FROM: env.mail.from },
    smtpUrl: smtpUrl.stringValue,
    preconditions: [
      {
        condition: '${var.smtp_url != ""}',
        errorMessage:
          "mail is configured: set TF_VAR_smtp_url to your SMTP relay (docs/deploy.md, Mail). It is not needed to destroy.",
      },
    ],
  };
}

/** RDS for PostgreSQL with its `db_password` variable (construct ids "db_password", "database"). */
export function rdsDatabase(
  stack: TerraformStack,
  name: string,
  db: RdsSettings,
  tags: Record<string, string>,
  placement: { primaryZone: string; secondaryZone: string; subnetId: string; allowedCidrs: readonly string[] },
): PostgresDatabase {
  const dbPassword = new TerraformVariable(stack, "db_password", {
    type: "string",
    sensitive: true,
    nullable: false,
    default: "",
    description:
      "Password of the RDS application account (8-32 characters; upper, lower, digits, symbols). Set TF_VAR_db_password to deploy; not needed to destroy.",
    validation: [
      {
        condition: '${var.db_password == "" || (length(var.db_password) >= 8 && length(var.db_password) <= 32)}',
        errorMessage: "db_password must be 8 to 32 characters long",
      },
    ],
  });
  return new PostgresDatabase(stack, "database", {
    name,
    engineVersion: db.engineVersion,
    nodeSpec: db.nodeSpec,
    storageGb: db.storageGb,
    ...placement,
    databaseName: db.databaseName,
    username: db.username,
    password: dbPassword.stringValue,
    passwordPreconditions: [
      {
        condition: '${var.db_password != ""}',
        errorMessage:
          "Set TF_VAR_db_password (8-32 characters; upper, lower, digits, symbols) to deploy with RDS. It is not needed to destroy.",
      },
    ],
    tags,
  });
}

/**
 * The standby zone of RDS. The configuration refuses RDS without it (rdsStandbyZoneProblem), so
 * both topologies use the same, written-down value.
 */
export function rdsStandbyZone(db: RdsSettings): string {
  if (!db.secondaryZone)
    throw new Error("database.secondaryZone is required with RDS (the configuration check refuses it first)");
  return db.secondaryZone;
}

/** A URL Terraform can hand to the provider and the secrets script: https, no quote, space, `$` or `%{`. */
const WEBHOOK_FORMAT = `(can(regex("^https://[^'\\"\\\\\\\\$\`\\\\s]+$", var.alert_webhook)) && !can(regex("%[{]", var.alert_webhook)))`;

/**
 * The alert webhook (`"alerts": { "webhook": true }`): the sensitive variable `alert_webhook`
 * (TF_VAR_alert_webhook), shared by the CloudMonitor rules and the servers' deploy steps. Its URL
 * carries a token: as a sensitive variable it is in neither cdk.tf.json nor a plan's text (plans
 * print "(sensitive value)" for every attribute derived from it). A precondition asks for it at
 * deploy; destroy does not need it. One variable per stack, whoever asks first creates it.
 */
export function alertWebhook(
  stack: TerraformStack,
  env: ResolvedEnvironment,
): { value: string; preconditions: { condition: string; errorMessage: string }[] } | undefined {
  if (!env.alerts?.webhook) return undefined;
  const existing = stack.node.tryFindChild("alert_webhook");
  const variable =
    existing instanceof TerraformVariable
      ? existing
      : new TerraformVariable(stack, "alert_webhook", {
          type: "string",
          sensitive: true,
          nullable: false,
          default: "",
          description:
            "The alert webhook's https:// URL (alerts.webhook is true): CloudMonitor's alarms and the servers' own alerts post to it. Set TF_VAR_alert_webhook; not needed to destroy.",
          validation: [
            {
              condition: `\${var.alert_webhook == "" || ${WEBHOOK_FORMAT}}`,
              errorMessage:
                "alert_webhook must be an https:// URL without quotes, spaces, backslashes, $ or %{ (percent-encode them)",
            },
          ],
        });
  return {
    value: variable.stringValue,
    preconditions: [
      {
        condition: '${var.alert_webhook != ""}',
        errorMessage:
          "alerts.webhook is true: set TF_VAR_alert_webhook to the webhook's https:// URL (docs/operations.md, Alerts). It is not needed to destroy.",
      },
    ],
  };
}

/** The environment's CloudMonitor alarms, or none without `alerts` in the configuration. */
export function environmentAlarms(
  stack: TerraformStack,
  name: string,
  env: ResolvedEnvironment,
  tags: Record<string, string>,
  alarms: MetricAlarm[],
): Alarms | undefined {
  if (!env.alerts) return undefined;
  const webhook = alertWebhook(stack, env);
  return new Alarms(stack, "alarms", {
    name,
    region: env.region,
    email: env.alerts.email,
    webhook: webhook && { url: webhook.value, preconditions: webhook.preconditions },
    alarms,
    tags,
  });
}

export function databaseHasAddress(database: PostgresDatabase) {
  return {
    condition: database.hasAddress,
    errorMessage: "RDS for PostgreSQL reported no endpoint address; check the instance in the console.",
  };
}

export function databaseOutput(scope: Construct, database: PostgresDatabase, description: string): void {
  new TerraformOutput(scope, "database_endpoint", { value: `${database.host}:${database.port}`, description });
}

/** `backup_bucket`, and the command that keeps the backups when the environment is destroyed. */
export function backupOutputs(scope: Construct, backups: BackupBucket, description: string): void {
  new TerraformOutput(scope, "backup_bucket", { value: backups.bucketName, description });
  const addresses = [backups.bucket, backups.lifecycle].map((r) => `${r.terraformResourceType}.${r.friendlyUniqueId}`);
  new TerraformOutput(scope, "keep_backups_command", {
    value: `terraform state rm ${addresses.join(" ")}`,
    description:
      "Run in cdktf.out/stacks/<stack> before `cdktf destroy` to keep the backup bucket and its expiry rule. The bucket is versioned and never empties by itself: to delete it later, delete every object version and every delete marker first (docs/deploy.md, Tear it all down)",
  });
}
