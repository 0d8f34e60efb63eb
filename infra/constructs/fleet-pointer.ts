import { Resource as NullResource } from "@cdktf/provider-null/lib/resource";
import type { ITerraformDependable } from "cdktf";
import { Construct } from "constructs";
import { CHOOSE_SUDO, sshConnection } from "./ssh-connection.js";
import { pointFleetCommands } from "../../contract/index.js";

export interface FleetPointerProps {
  /** The first fixed server's private IP (it published the deploy and holds the role that writes). */
  readonly host: string;
  /** The bastion's public IP. */
  readonly bastionHost: string;
  readonly sshUser: string;
  /**
   * Private key file read by Terraform at apply time.
   * @default - the ssh-agent
   */
  readonly sshPrivateKeyPath?: string;
  /** What re-runs it: the first server's deploy triggers (whatever it published anew). */
  readonly triggers: Readonly<Record<string, string>>;
  /** The last fixed server's deploy step (the pointer moves after the whole rollout). */
  readonly after: ITerraformDependable[];
}

/**
 * Moves `fleet/current` to the deploy the first server published (`pointFleetCommands`), after the
 * LAST fixed server's deploy step: a rollout stopped half-way never reaches the scaling group's
 * servers, which take the new pointer at their next `todo-fleet-sync`.
 */
export class FleetPointer extends Construct {
  readonly resource: NullResource;

  constructor(scope: Construct, id: string, props: FleetPointerProps) {
    super(scope, id);
    const { connection, keyPreconditions } = sshConnection(this, props);
    this.resource = new NullResource(this, "point", {
      triggers: { ...props.triggers },
      dependsOn: props.after,
      lifecycle: keyPreconditions.length ? { precondition: keyPreconditions } : undefined,
      connection,
      provisioners: [
        { type: "remote-exec", inline: ["#!/bin/sh", "set -eu", CHOOSE_SUDO, ...pointFleetCommands("$SUDO")] },
      ],
    });
  }
}
