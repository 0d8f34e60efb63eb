import { Construct } from "constructs";
import type { ITerraformDependable } from "cdktf";
import { AppDeployment, type AppDeploymentProps, type Release } from "./app-deployment.js";

export interface RollingDeploymentProps {
  /** The servers, in rollout order: instance id, the private IP reached through the bastion, what each is told. */
  readonly servers: readonly {
    readonly instanceId: string;
    readonly privateIp: string;
    readonly serverOptions: AppDeploymentProps["serverOptions"];
    /** Host settings known only at apply (the first server's seed, with `autoScaling`). */
    readonly lateHostSettings?: AppDeploymentProps["lateHostSettings"];
    /** Publish the release for the scaling group's servers (the first server, with `autoScaling`). */
    readonly publishFleet?: boolean;
  }[];
  /** The bastion's public IP: every SSH connection jumps through it. */
  readonly bastionHost: string;
  /**
   * The app servers' instance type (a resize redeploys: the memory plan follows).
   * @default - not in the triggers
   */
  readonly instanceType?: string;
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
   * Conditions checked before deploying.
   * @default - none
   */
  readonly preconditions?: AppDeploymentProps["preconditions"];
  /**
   * What every server's deployment waits for (bastion reachable, database reachable, ...).
   * @default - none
   */
  readonly dependsOn?: ITerraformDependable[];
}

/**
 * The release rolled over the app servers ONE AT A TIME through the bastion: one AppDeployment
 * (null_resource) per server, each depending on the previous one, so Terraform runs them in
 * order and stops at the first failure. On each server `todo-release deploy` restarts the app
 * instances one by one, gated on /readyz, so a server never stops answering and the load
 * balancer keeps at least all other servers in rotation. Migrations run with the first server's
 * release (the app's advisory lock serializes them); schema changes must stay compatible with
 * the previous release while the rollout is in progress.
 */
export class RollingDeployment extends Construct {
  readonly steps: AppDeployment[] = [];

  constructor(scope: Construct, id: string, props: RollingDeploymentProps) {
    super(scope, id);
    props.servers.forEach((server, i) => {
      const previous = this.steps[i - 1];
      this.steps.push(
        new AppDeployment(this, `server-${i + 1}`, {
          host: server.privateIp,
          bastionHost: props.bastionHost,
          instanceId: server.instanceId,
          instanceType: props.instanceType,
          serverOptions: server.serverOptions,
          ...(server.lateHostSettings ? { lateHostSettings: server.lateHostSettings } : {}),
          ...(server.publishFleet ? { publishFleet: true } : {}),
          sshUser: props.sshUser,
          sshPrivateKeyPath: props.sshPrivateKeyPath,
          release: props.release,
          databaseUrl: props.databaseUrl,
          jwtSecret: props.jwtSecret,
          smtpUrl: props.smtpUrl,
          alertWebhook: props.alertWebhook,
          settings: props.settings,
          preconditions: props.preconditions,
          dependsOn: [...(props.dependsOn ?? []), ...(previous ? [previous.resource] : [])],
        }),
      );
    });
  }
}
