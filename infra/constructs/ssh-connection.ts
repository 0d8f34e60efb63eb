import type { SSHProvisionerConnection } from "cdktf";
import type { Construct } from "constructs";
import { LocalFile } from "./local-file.js";

/** Picks the privileged prefix of the deploy scripts: nothing as root, sudo otherwise. */
export const CHOOSE_SUDO = `SUDO=; if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi`;

/**
 * How a deploy step reaches its server: SSH with the key file (read at plan time, and only
 * required to deploy: destroy works without it) or the ssh-agent, through the bastion if any.
 */
export function sshConnection(
  scope: Construct,
  props: {
    /** Address to SSH to: the public IP, or the private IP when going through `bastionHost`. */
    readonly host: string;
    /** Jump host (public IP); same user and key. */
    readonly bastionHost?: string;
    readonly sshUser: string;
    /** Private key file read by Terraform at apply time; absent: the ssh-agent. */
    readonly sshPrivateKeyPath?: string;
  },
): { connection: SSHProvisionerConnection; keyPreconditions: { condition: string; errorMessage: string }[] } {
  const key = props.sshPrivateKeyPath
    ? new LocalFile(scope, "ssh-private-key", { path: props.sshPrivateKeyPath })
    : undefined;
  const connection: SSHProvisionerConnection = {
    type: "ssh",
    host: props.host,
    user: props.sshUser,
    timeout: "10m",
    ...(key ? { privateKey: key.content, agent: "false" } : { agent: "true" }),
    ...(props.bastionHost
      ? {
          bastionHost: props.bastionHost,
          bastionUser: props.sshUser,
          ...(key ? { bastionPrivateKey: key.content } : {}),
        }
      : {}),
  };
  return { connection, keyPreconditions: key ? [key.required("SSH private key (ssh.privateKeyPath)")] : [] };
}
