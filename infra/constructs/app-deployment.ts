import { Construct } from "constructs";
import { Fn } from "cdktf";
import { Resource as NullResource } from "@cdktf/provider-null/lib/resource";
import { CHOOSE_SUDO, sshConnection } from "./ssh-connection.js";

import { createHash } from "node:crypto";
import {
  ALERT_COMMAND,
  HOST_CONF_PATH,
  installKitCommands,
  publishFleetCommands,
  RELEASE_COMMAND,
  remoteTarballPath,
  removeTarballOnFailure,
  switchReleaseCommands,
  type Release,
} from "../../contract/index.js";
import type { CloudInitOptions } from "../../cloud-init/options.js";
import { parseCloudInitOptions } from "../../cloud-init/options.js";
import { renderHostConf } from "../../cloud-init/host-conf.js";

export { RELEASE_COMMAND, type Release };

export interface AppDeploymentProps {
  /** Address to SSH to: the public IP, or the private IP when going through `bastion`. */
  readonly host: string;
  /**
   * Jump host (public IP) for servers without a public address; same user and key.
   * @default - SSH straight to `host`
   */
  readonly bastionHost?: string;
  /** Instance id: a replaced server gets the release again. */
  readonly instanceId: string;
  /**
   * Instance type: a resized server is deployed again, so the kit re-derives the app's MemoryMax
   * and PostgreSQL's memory from its new MemTotal (cloud-init/memory-budget.ts).
   * @default - not in the trigger
   */
  readonly instanceType?: string;
  /**
   * Everything the server is told (domain, ACME e-mail, database mode, Node.js version and
   * checksums, backup target, app ports, memory limit, ...): written to /etc/todo-host.conf on
   * every deploy, and part of the trigger, so a change reaches the running server.
   */
  readonly serverOptions: CloudInitOptions;
  /** Login user on the server(s) (and the bastion). */
  readonly sshUser: string;
  /**
   * Private key file read by Terraform at apply time.
   * @default - the ssh-agent
   */
  readonly sshPrivateKeyPath?: string;
  /** The release to upload and switch to (its hash is in the trigger). */
  readonly release: Release;
  /**
   * Sensitive expression of the DATABASE_URL (rds mode).
   * @default - the server's local database
   */
  readonly databaseUrl?: string;
  /** Sensitive expression of the JWT secret; empty keeps the one the server generated at setup. */
  readonly jwtSecret: string;
  /**
   * Sensitive expression of the SMTP relay URL (SMTP_URL), when mail is configured.
   * @default - no SMTP_URL on the server
   */
  readonly smtpUrl?: string;
  /**
   * Sensitive expression of the alert webhook (`alerts.webhook`) for the server's own alerts:
   * written by the secrets step into a root-only file, never into the user data or the app's env
   * file; only its Terraform-computed hash is in the trigger.
   * @default - no webhook (removed from the server)
   */
  readonly alertWebhook?: string;
  /**
   * Non-secret settings written to the server's env file before the release starts (e.g.
   * TRUSTED_PROXIES behind the load balancer). Values must not contain quotes, "$" or "%{".
   * @default - {}
   */
  readonly settings?: Readonly<Record<string, string>>;
  /**
   * Conditions checked before deploying (e.g. the database has an address).
   * @default - none
   */
  readonly preconditions?: readonly { readonly condition: string; readonly errorMessage: string }[];
  /**
   * Resources that must exist before SSH can work (e.g. the EIP association).
   * @default - none
   */
  readonly dependsOn?: import("cdktf").ITerraformDependable[];
  /**
   * Host settings known only at apply (e.g. the scaling group's id for the seed): `serverOptions`
   * holds `placeholder` (a literal the options accept), the host settings written to the server
   * hold `value` (a Terraform expression) instead, and `value` is a trigger named `trigger`.
   * @default - none
   */
  readonly lateHostSettings?: readonly LateHostSetting[];
  /**
   * Publish the release and its settings for the scaling group's servers (`publishFleetCommands`)
   * before switching to it: the first fixed server of a cluster with `autoScaling`.
   * @default false
   */
  readonly publishFleet?: boolean;
}

export interface LateHostSetting {
  readonly placeholder: string;
  readonly value: string;
  readonly trigger: string;
}

/** The trigger values of a deploy step: any change re-runs it (Terraform replaces the null_resource). */
export function deploymentTriggers(
  props: Pick<
    AppDeploymentProps,
    | "release"
    | "instanceId"
    | "instanceType"
    | "serverOptions"
    | "settings"
    | "databaseUrl"
    | "smtpUrl"
    | "alertWebhook"
    | "lateHostSettings"
  >,
): Record<string, string> {
  const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
  const settings = Object.entries(props.settings ?? {})
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}\n`)
    .join("");
  return {
    release_hash: props.release.hash,
    instance_id: props.instanceId,
    ...(props.instanceType ? { instance_type: props.instanceType } : {}),
    host_settings_sha256: sha256(renderHostConf(parseCloudInitOptions(props.serverOptions))),
    ...(settings ? { env_settings_sha256: sha256(settings) } : {}),
    // A hash of the (sensitive) URL expression, computed by Terraform: a new RDS address or password redeploys.
    ...(props.databaseUrl ? { database_url_sha256: Fn.sha256(props.databaseUrl) } : {}),
    ...(props.smtpUrl ? { smtp_url_sha256: Fn.sha256(props.smtpUrl) } : {}),
    // Only the hash, computed by Terraform from the sensitive variable (the same hex digest the
    // stack computed at synth when the URL was in the configuration, so that move redeploys
    // nothing). A new, changed or removed webhook redeploys.
    ...(props.alertWebhook ? { alert_webhook_sha256: Fn.sha256(props.alertWebhook) } : {}),
    ...Object.fromEntries((props.lateHostSettings ?? []).map((s) => [s.trigger, s.value])),
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
  /** What re-runs this step (deploymentTriggers). */
  readonly triggers: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: AppDeploymentProps) {
    super(scope, id);
    for (const [key, value] of Object.entries(props.settings ?? {})) {
      if (!/^[A-Z_][A-Z0-9_]*$/.test(key) || /['"\\$`%\s]/.test(value) || value === "") {
        throw new Error(
          `AppDeployment: setting ${key} must be an env name with a plain value (no quotes, $, %, spaces)`,
        );
      }
    }
    if (!/^[0-9a-f]{8,64}$/.test(props.release.hash)) {
      throw new Error(`AppDeployment: release hash "${props.release.hash}" is not a hex content hash`);
    }
    this.remoteTarball = remoteTarballPath(props.release.hash);
    const hostSettings = renderHostConf(parseCloudInitOptions(props.serverOptions));
    const late = props.lateHostSettings ?? [];
    for (const { placeholder } of late)
      if (!hostSettings.includes(placeholder))
        throw new Error(`AppDeployment: placeholder ${placeholder} is not in the host settings`);

    const { connection, keyPreconditions } = sshConnection(this, props);
    const preconditions = [...(props.preconditions ?? []), ...keyPreconditions];

    this.triggers = deploymentTriggers(props);
    this.resource = new NullResource(this, "release", {
      triggers: { ...this.triggers },
      dependsOn: props.dependsOn,
      lifecycle: preconditions.length ? { precondition: preconditions } : undefined,
      connection,
      provisioners: [
        { type: "file", source: props.release.path, destination: this.remoteTarball },
        {
          type: "remote-exec",
          inline: withLateSettings(convergeScript(hostSettings, this.remoteTarball, props.release.hash), late),
        },
        {
          // Secrets in their own script: Terraform hides the output of a provisioner whose
          // config references a sensitive value, and the script deletes itself.
          type: "remote-exec",
          inline: secretsScript(props),
        },
        { type: "remote-exec", inline: deployScript(this.remoteTarball, props.publishFleet ?? false) },
      ],
    });
  }
}

const sudo = CHOOSE_SUDO;

function secretsScript(props: AppDeploymentProps): string[] {
  const lines = [
    "#!/bin/sh",
    "set -eu",
    // The script holds secrets: remove it from /tmp before doing anything else.
    `rm -f -- "$0"`,
    sudo,
    removeTarballOnFailure(remoteTarballPath(props.release.hash), "$SUDO"),
    // The release command was installed by the kit in the step before.
    `test -x ${RELEASE_COMMAND} || { echo "${RELEASE_COMMAND} is missing: the server kit did not install" >&2; exit 1; }`,
    // Single quotes: the JWT secret is validated to hold no quote; URL parts are URL-encoded.
    // Without a JWT secret from the deployer, the one todo-setup generated on the server stays.
    `jwt='${props.jwtSecret}'`,
    `if [ -n "$jwt" ]; then printf '%s' "$jwt" | $SUDO ${RELEASE_COMMAND} set-env JWT_SECRET; fi`,
    "unset jwt",
  ];
  if (props.databaseUrl) {
    lines.push(`printf '%s' '${props.databaseUrl}' | $SUDO ${RELEASE_COMMAND} set-env DATABASE_URL`);
  }
  if (props.smtpUrl) {
    // Validated by the variable to hold no quote or space.
    lines.push(`printf '%s' '${props.smtpUrl}' | $SUDO ${RELEASE_COMMAND} set-env SMTP_URL`);
  }
  for (const [key, value] of Object.entries(props.settings ?? {})) {
    lines.push(`printf '%s' '${value}' | $SUDO ${RELEASE_COMMAND} set-env ${key}`);
  }
  // Always written, so that removing the webhook from the configuration removes it from the
  // server; the variable's validation refuses quotes, $ and %{ in it. Not in the app's env file.
  lines.push(`printf '%s' '${props.alertWebhook ?? ""}' | $SUDO ${ALERT_COMMAND} set-webhook`);
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

/** The late values go in after the check for "${" (they are the Terraform expressions meant). */
function withLateSettings(lines: string[], late: readonly LateHostSetting[]): string[] {
  return lines.map((line) => late.reduce((l, s) => l.split(s.placeholder).join(s.value), line));
}

function deployScript(remoteTarball: string, publishFleet: boolean): string[] {
  return [
    "#!/bin/sh",
    "set -eu",
    sudo,
    // Before the switch, which removes the tarball the publish uploads.
    ...(publishFleet ? publishFleetCommands(remoteTarball, "$SUDO") : []),
    ...switchReleaseCommands(remoteTarball, "$SUDO"),
    `$SUDO ${RELEASE_COMMAND} status`,
  ];
}
