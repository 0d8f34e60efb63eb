import { Construct } from "constructs";
import { Fn, type SSHProvisionerConnection } from "cdktf";
import { Resource as NullResource } from "@cdktf/provider-null/lib/resource";

import { RELEASE_COMMAND, type Release } from "../../contract";

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
  sshUser: string;
  /** Private key file read by Terraform at apply time; undefined means use the ssh-agent. */
  sshPrivateKeyPath?: string;
  release: Release;
  /** Sensitive expression of the DATABASE_URL (rds mode); undefined keeps the local database. */
  databaseUrl?: string;
  /** Sensitive expression of the JWT secret; empty keeps the one the server generated at setup. */
  jwtSecret: string;
  /** Conditions checked before deploying (e.g. the database has an address). */
  preconditions?: { condition: string; errorMessage: string }[];
  /** Resources that must exist before SSH can work (e.g. the EIP association). */
  dependsOn?: import("cdktf").ITerraformDependable[];
}

/**
 * Ships the release to the server over SSH once it is up, and writes the server-side secrets over
 * the same channel (never through user data). Triggers are the release hash and the instance id
 * only: a code change redeploys the app without touching the server; an unchanged tree does
 * nothing.
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
        throw new Error(`AppDeployment: setting ${key} must be an env name with a plain value (no quotes, $, %, spaces)`);
      }
    }
    if (!/^[0-9a-f]{8,64}$/.test(config.release.hash)) {
      throw new Error(`AppDeployment: release hash "${config.release.hash}" is not a hex content hash`);
    }
    this.remoteTarball = `/tmp/todo-api-${config.release.hash}.tar.gz`;

    const connection: SSHProvisionerConnection = {
      type: "ssh",
      host: config.host,
      user: config.sshUser,
      timeout: "10m",
      ...(config.sshPrivateKeyPath
        ? { privateKey: Fn.file(Fn.pathexpand(config.sshPrivateKeyPath)), agent: "false" }
        : { agent: "true" }),
      ...(config.bastionHost
        ? {
            bastionHost: config.bastionHost,
            bastionUser: config.sshUser,
            ...(config.sshPrivateKeyPath ? { bastionPrivateKey: Fn.file(Fn.pathexpand(config.sshPrivateKeyPath)) } : {}),
          }
        : {}),
    };

    this.resource = new NullResource(this, "release", {
      triggers: {
        release_hash: config.release.hash,
        instance_id: config.instanceId,
      },
      dependsOn: config.dependsOn,
      lifecycle: config.preconditions?.length ? { precondition: config.preconditions } : undefined,
      connection,
      provisioners: [
        {
          // Secrets first, in their own script: Terraform hides the output of a provisioner
          // whose config references a sensitive value, and the script deletes itself.
          type: "remote-exec",
          inline: secretsScript(config),
        },
        { type: "file", source: config.release.path, destination: this.remoteTarball },
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
    // The release command exists once cloud-init has finished (exit 2 = done with warnings).
    "rc=0; cloud-init status --wait >/dev/null 2>&1 || rc=$?",
    `if [ "$rc" -ne 0 ] && [ "$rc" -ne 2 ]; then echo "cloud-init failed (exit $rc); see /var/log/cloud-init-output.log on the server" >&2; $SUDO cloud-init status --long >&2 || true; exit 1; fi`,
    `test -x ${RELEASE_COMMAND} || { echo "${RELEASE_COMMAND} is missing: the server was not set up by cloud-init" >&2; exit 1; }`,
    // Single quotes: the JWT secret is validated to hold no quote; URL parts are URL-encoded.
    // Without a JWT secret from the deployer, the one todo-setup generated on the server stays.
    `jwt='${config.jwtSecret}'`,
    `if [ -n "$jwt" ]; then printf '%s' "$jwt" | $SUDO ${RELEASE_COMMAND} set-env JWT_SECRET; fi`,
    "unset jwt",
  ];
  if (config.databaseUrl) {
    lines.push(`printf '%s' '${config.databaseUrl}' | $SUDO ${RELEASE_COMMAND} set-env DATABASE_URL`);
  }
  for (const [key, value] of Object.entries(config.settings ?? {})) {
    lines.push(`printf '%s' '${value}' | $SUDO ${RELEASE_COMMAND} set-env ${key}`);
  }
  return lines;
}

function deployScript(remoteTarball: string): string[] {
  return [
    "#!/bin/sh",
    "set -eu",
    sudo,
    `$SUDO ${RELEASE_COMMAND} deploy ${remoteTarball}`,
    `rm -f -- ${remoteTarball}`,
    `$SUDO ${RELEASE_COMMAND} status`,
  ];
}
