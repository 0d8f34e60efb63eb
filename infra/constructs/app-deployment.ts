import { Construct } from "constructs";
import { Fn, type SSHProvisionerConnection } from "cdktf";
import { Resource as NullResource } from "@cdktf/provider-null/lib/resource";
import { LocalFile } from "./local-file.js";

import { createHash } from "node:crypto";
import {
  ALERT_COMMAND,
  HOST_CONF_PATH,
  installKitCommands,
  RELEASE_COMMAND,
  remoteTarballPath,
  removeTarballOnFailure,
  switchReleaseCommands,
  type Release,
} from "../../contract/index.js";
import type { CloudInitOptions } from "../../cloud-init/options.js";
import { parseCloudInitOptions, renderHostConf } from "../../cloud-init/render.js";

export { RELEASE_COMMAND, type Release };

export interface AppDeploymentConfig {
  /** Address to SSH to: the public IP, or the private IP when going through `bastion`. */
  host: string;
  /** Jump host (public IP) for servers without a public address; same user and key. */
  bastionHost?: string;
  /**
   * Non-secret settings written to the server's env file before the release starts (e.g.
   * TRUSTED_PROXIES behind the load balancer). Values must not contain quotes, "$" or "%{".
   */
  settings?: Readonly<Record<string, string>>;
  /** Instance id: a replaced server gets the release again. */
  instanceId: string;
  /**
   * Instance type: a resized server is deployed again, so the kit re-derives the app's MemoryMax
   * and PostgreSQL's memory from its new MemTotal (cloud-init/memory-budget.ts).
   */
  instanceType?: string;
  sshUser: string;
  /** Private key file read by Terraform at apply time; undefined means use the ssh-agent. */
  sshPrivateKeyPath?: string;
  release: Release;
  /**
   * Everything the server is told (domain, ACME e-mail, database mode, Node.js version and
   * checksums, backup target, app ports, memory limit, ...): written to /etc/todo-host.conf on
   * every deploy, and part of the trigger, so a change reaches the running server.
   */
  serverOptions: CloudInitOptions;
  /** Sensitive expression of the DATABASE_URL (rds mode); undefined keeps the local database. */
  databaseUrl?: string;
  /** Sensitive expression of the JWT secret; empty keeps the one the server generated at setup. */
  jwtSecret: string;
  /** Sensitive expression of the SMTP relay URL (SMTP_URL), when mail is configured. */
  smtpUrl?: string;
  /**
   * The alert webhook (`alerts.webhook`) for the server's own alerts: a secret (chat-bot webhooks
   * carry their token in the URL), written by the secrets step into a root-only file, never into
   * the user data or the app's env file; undefined removes it from the server.
   */
  alertWebhook?: string;
  /** Conditions checked before deploying (e.g. the database has an address). */
  preconditions?: { condition: string; errorMessage: string }[];
  /** Resources that must exist before SSH can work (e.g. the EIP association). */
  dependsOn?: import("cdktf").ITerraformDependable[];
}

/** The trigger values of a deploy step: any change re-runs it (Terraform replaces the null_resource). */
export function deploymentTriggers(
  config: Pick<
    AppDeploymentConfig,
    | "release"
    | "instanceId"
    | "instanceType"
    | "serverOptions"
    | "settings"
    | "databaseUrl"
    | "smtpUrl"
    | "alertWebhook"
  >,
): Record<string, string> {
  const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
  const settings = Object.entries(config.settings ?? {})
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}\n`)
    .join("");
  return {
    release_hash: config.release.hash,
    instance_id: config.instanceId,
    ...(config.instanceType ? { instance_type: config.instanceType } : {}),
    host_settings_sha256: sha256(renderHostConf(parseCloudInitOptions(config.serverOptions))),
    ...(settings ? { env_settings_sha256: sha256(settings) } : {}),
    // A hash of the (sensitive) URL expression, computed by Terraform: a new RDS address or password redeploys.
    ...(config.databaseUrl ? { database_url_sha256: Fn.sha256(config.databaseUrl) } : {}),
    ...(config.smtpUrl ? { smtp_url_sha256: Fn.sha256(config.smtpUrl) } : {}),
    // Only the hash: the URL is a secret. A new, changed or removed webhook redeploys.
    ...(config.alertWebhook ? { alert_webhook_sha256: sha256(config.alertWebhook) } : {}),
  };
}

/**
 * Converges the server to the checked-out repository and stack configuration on every change,
 * the way Kamal re-applies everything on each deploy: over SSH it writes the host
 * settings, uploads the release, runs the release's server kit (`server/install`: packages, the
 * pinned Node.js, every server script, unit and Nginx site, then todo-setup), writes the
 * server-side secrets (never through user data), and switches releases with todo-release.
 * It runs again when the release, the instance, any host setting, the env settings or the
 * database URL change (deploymentTriggers); the instance's user data is only its first boot.
 *
 * Every script below avoids "${" and "%{" except where Terraform interpolation is intended:
 * Terraform would otherwise evaluate the shell's own syntax.
 */
export class AppDeployment extends Construct {
  readonly resource: NullResource;
  readonly remoteTarball: string;

  constructor(scope: Construct, id: string, config: AppDeploymentConfig) {
    super(scope, id);
    for (const [key, value] of Object.entries(config.settings ?? {})) {
      if (!/^[A-Z_][A-Z0-9_]*$/.test(key) || /['"\\$`%\s]/.test(value) || value === "") {
        throw new Error(
          `AppDeployment: setting ${key} must be an env name with a plain value (no quotes, $, %, spaces)`,
        );
      }
    }
    if (!/^[0-9a-f]{8,64}$/.test(config.release.hash)) {
      throw new Error(`AppDeployment: release hash "${config.release.hash}" is not a hex content hash`);
    }
    this.remoteTarball = remoteTarballPath(config.release.hash);
    const hostSettings = renderHostConf(parseCloudInitOptions(config.serverOptions));

    // Read at plan time, and only required to deploy: destroy works without the key file.
    const key = config.sshPrivateKeyPath ? new LocalFile(this, "ssh-private-key", config.sshPrivateKeyPath) : undefined;
    const preconditions = [
      ...(config.preconditions ?? []),
      ...(key ? [key.required("SSH private key (ssh.privateKeyPath)")] : []),
    ];
    const connection: SSHProvisionerConnection = {
      type: "ssh",
      host: config.host,
      user: config.sshUser,
      timeout: "10m",
      ...(key ? { privateKey: key.content, agent: "false" } : { agent: "true" }),
      ...(config.bastionHost
        ? {
            bastionHost: config.bastionHost,
            bastionUser: config.sshUser,
            ...(key ? { bastionPrivateKey: key.content } : {}),
          }
        : {}),
    };

    this.resource = new NullResource(this, "release", {
      triggers: deploymentTriggers(config),
      dependsOn: config.dependsOn,
      lifecycle: preconditions.length ? { precondition: preconditions } : undefined,
      connection,
      provisioners: [
        { type: "file", source: config.release.path, destination: this.remoteTarball },
        { type: "remote-exec", inline: convergeScript(hostSettings, this.remoteTarball, config.release.hash) },
        {
          // Secrets in their own script: Terraform hides the output of a provisioner whose
          // config references a sensitive value, and the script deletes itself.
          type: "remote-exec",
          inline: secretsScript(config),
        },
        { type: "remote-exec", inline: deployScript(this.remoteTarball) },
      ],
    });
  }
}

const sudo = `SUDO=; if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi`;

function secretsScript(config: AppDeploymentConfig): string[] {
  const lines = [
    "#!/bin/sh",
    "set -eu",
    // The script holds secrets: remove it from /tmp before doing anything else.
    `rm -f -- "$0"`,
    sudo,
    removeTarballOnFailure(remoteTarballPath(config.release.hash), "$SUDO"),
    // The release command was installed by the kit in the step before.
    `test -x ${RELEASE_COMMAND} || { echo "${RELEASE_COMMAND} is missing: the server kit did not install" >&2; exit 1; }`,
    // Single quotes: the JWT secret is validated to hold no quote; URL parts are URL-encoded.
    // Without a JWT secret from the deployer, the one todo-setup generated on the server stays.
    `jwt='${config.jwtSecret}'`,
    `if [ -n "$jwt" ]; then printf '%s' "$jwt" | $SUDO ${RELEASE_COMMAND} set-env JWT_SECRET; fi`,
    "unset jwt",
  ];
  if (config.databaseUrl) {
    lines.push(`printf '%s' '${config.databaseUrl}' | $SUDO ${RELEASE_COMMAND} set-env DATABASE_URL`);
  }
  if (config.smtpUrl) {
    // Validated by the variable to hold no quote or space.
    lines.push(`printf '%s' '${config.smtpUrl}' | $SUDO ${RELEASE_COMMAND} set-env SMTP_URL`);
  }
  for (const [key, value] of Object.entries(config.settings ?? {})) {
    lines.push(`printf '%s' '${value}' | $SUDO ${RELEASE_COMMAND} set-env ${key}`);
  }
  // Always written, so that removing the webhook from the configuration removes it from the
  // server; the configuration refuses quotes, $ and %{ in it. Not in the app's env file.
  if (config.alertWebhook && /['"\\$`\s]|%\{/.test(config.alertWebhook)) {
    throw new Error("AppDeployment: the alert webhook must not contain quotes, $, %{, backslashes or spaces");
  }
  lines.push(`printf '%s' '${config.alertWebhook ?? ""}' | $SUDO ${ALERT_COMMAND} set-webhook`);
  return lines;
}

/** Host settings first (what the kit renders from), then the release's server kit. */
function convergeScript(hostSettings: string, remoteTarball: string, hash: string): string[] {
  if (/\$\{|%\{/.test(hostSettings)) throw new Error("host settings must not contain ${ or %{");
  return [
    "#!/bin/sh",
    "set -eu",
    sudo,
    `$SUDO tee ${HOST_CONF_PATH}.new >/dev/null <<'TODO_HOST_SETTINGS'`,
    ...hostSettings.trimEnd().split("\n"),
    "TODO_HOST_SETTINGS",
    `$SUDO chmod 0644 ${HOST_CONF_PATH}.new`,
    `$SUDO mv -f ${HOST_CONF_PATH}.new ${HOST_CONF_PATH}`,
    ...installKitCommands(remoteTarball, hash, "$SUDO"),
  ];
}

function deployScript(remoteTarball: string): string[] {
  return [
    "#!/bin/sh",
    "set -eu",
    sudo,
    ...switchReleaseCommands(remoteTarball, "$SUDO"),
    `$SUDO ${RELEASE_COMMAND} status`,
  ];
}
