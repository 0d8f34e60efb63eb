import { Annotations } from "cdktf";
import type { Construct } from "constructs";
import type { CloudInitOptions } from "../../cloud-init/options.js";
import type { ResolvedEnvironment } from "../config/schema.js";
import { defaultTosS3Endpoint } from "../config/operations.js";
import { backupRoleName } from "../constructs/backup-bucket.js";
import { filesRoleName } from "../constructs/files-policy.js";

/**
 * What an environment's servers are told at first boot: the one place the stack configuration
 * becomes cloud-init options. The stack renders these into user data, and the local rehearsal
 * (harness/rehearse) boots a container with exactly the same derivation.
 */

export interface OffsiteBackupTarget {
  readonly bucket: string;
  readonly region: string;
  readonly endpoint: string;
  readonly roleName: string;
}

/** The off-server backup target of the server that exports the backups (no credentials: the role has them). */
export function offsiteBackupTarget(env: ResolvedEnvironment, name: string): OffsiteBackupTarget {
  return {
    bucket: env.backups.bucketName,
    region: env.region,
    endpoint: env.backups.endpoint ?? defaultTosS3Endpoint(env.region),
    roleName: backupRoleName(name),
  };
}

/** Who may open the admin console: `adminConsole.allowCidrs`, by default the SSH admins' networks. */
export function adminConsoleCidrs(env: ResolvedEnvironment): string[] {
  return [...(env.adminConsole?.allowCidrs ?? env.ssh.adminCidrs)];
}

/**
 * The single server: its database mode, HTTPS when a domain is set, and off-server backups in both
 * database modes (of the local database, or in rds mode an independent copy besides RDS's own
 * automated backups; docs/operations.md). Every value is a literal known at synth time, so the
 * user data carries no Terraform expression.
 */
export function singleServerCloudInit(
  env: ResolvedEnvironment,
  name: string,
): CloudInitOptions & { offsiteBackup: OffsiteBackupTarget } {
  return {
    environment: env.name,
    databaseMode: env.database.mode,
    adminConsoleCidrs: adminConsoleCidrs(env),
    ...(env.https ? { domain: env.https.domain, acmeEmail: env.https.acmeEmail } : {}),
    ...(env.nodeMirror ? { nodeMirror: env.nodeMirror } : {}),
    ...(env.alerts ? { alertEmail: env.alerts.email } : {}),
    offsiteBackup: offsiteBackupTarget(env, name),
    ...filesCredentials(env, backupRoleName(name)),
  };
}

/** With `files`: the role whose credentials the server copies for the app (the one it holds). */
function filesCredentials(env: ResolvedEnvironment, roleName: string): Pick<CloudInitOptions, "filesCredentials"> {
  return env.files ? { filesCredentials: { roleName } } : {};
}

/**
 * The server's own alerts (todo-alert) go to the `alerts` receivers: the webhook (the
 * `alert_webhook` variable, for the deploy step's secrets script) and the e-mail, which the server sends through the API's
 * SMTP relay. Without `mail` the server has no relay: its alerts then reach the webhook only
 * (CloudMonitor still mails its metric alarms), and synth says so.
 */
export function warnAlertsWithoutMail(stack: Construct, env: ResolvedEnvironment): void {
  if (!env.alerts) return;
  if (!env.mail) {
    Annotations.of(stack).addWarning(
      `alerts.email (${env.alerts.email}) receives CloudMonitor's alarms only: the server mails its own alerts ` +
        `(failed backup, certificate, disk, /readyz) through the API's SMTP relay, and \`mail\` is not configured. ` +
        (env.alerts.webhook
          ? "They reach alerts.webhook only."
          : "Without alerts.webhook they reach nobody (only the server's journal).") +
        " See docs/operations.md, Alerts.",
    );
  }
}

/**
 * A cluster's app servers: the same cloud-config as a single server with RDS, without local
 * PostgreSQL, and without Certbot because TLS terminates at the load balancer. The first server
 * alone also gets the off-server backup target: it runs the daily `pg_dump` of RDS and copies it
 * to TOS (every server sees the same database, so one export a day is enough; the others stay
 * identical). Its user data is that of a single rds server without a domain, well below the
 * largest user data (local database, domain and backups), so the 16 KB budget does not grow.
 */
export function clusterServerCloudInit(
  env: ResolvedEnvironment,
  name: string,
): { firstServer: CloudInitOptions & { offsiteBackup: OffsiteBackupTarget }; otherServers: CloudInitOptions } {
  const otherServers: CloudInitOptions = {
    environment: env.name,
    databaseMode: "rds",
    adminConsoleCidrs: adminConsoleCidrs(env),
    ...(env.nodeMirror ? { nodeMirror: env.nodeMirror } : {}),
    ...(env.alerts ? { alertEmail: env.alerts.email } : {}),
  };
  return {
    firstServer: {
      ...otherServers,
      offsiteBackup: offsiteBackupTarget(env, name),
      ...filesCredentials(env, backupRoleName(name)),
    },
    otherServers: { ...otherServers, ...filesCredentials(env, filesRoleName(name)) },
  };
}
