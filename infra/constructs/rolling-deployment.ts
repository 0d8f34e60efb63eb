import { Construct } from "constructs";
import type { ITerraformDependable } from "cdktf";
import { AppDeployment, type AppDeploymentConfig, type Release } from "./app-deployment.js";

export interface RollingDeploymentConfig {
  /** The servers, in rollout order: instance id and the private IP reached through the bastion. */
  servers: readonly { instanceId: string; privateIp: string; serverOptions: AppDeploymentConfig["serverOptions"] }[];
  bastionHost: string;
  /** The app servers' instance type (a resize redeploys: the memory plan follows). */
  instanceType?: string;
  sshUser: string;
  sshPrivateKeyPath?: string;
  release: Release;
  databaseUrl?: string;
  jwtSecret: string;
  smtpUrl?: string;
  alertWebhook?: string;
  settings?: Readonly<Record<string, string>>;
  preconditions?: AppDeploymentConfig["preconditions"];
  /** What every server's deployment waits for (bastion reachable, database reachable, ...). */
  dependsOn?: ITerraformDependable[];
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

  constructor(scope: Construct, id: string, config: RollingDeploymentConfig) {
    super(scope, id);
    config.servers.forEach((server, i) => {
      const previous = this.steps[i - 1];
      this.steps.push(
        new AppDeployment(this, `server-${i + 1}`, {
          host: server.privateIp,
          bastionHost: config.bastionHost,
          instanceId: server.instanceId,
          instanceType: config.instanceType,
          serverOptions: server.serverOptions,
          sshUser: config.sshUser,
          sshPrivateKeyPath: config.sshPrivateKeyPath,
          release: config.release,
          databaseUrl: config.databaseUrl,
          jwtSecret: config.jwtSecret,
          smtpUrl: config.smtpUrl,
          alertWebhook: config.alertWebhook,
          settings: config.settings,
          preconditions: config.preconditions,
          dependsOn: [...(config.dependsOn ?? []), ...(previous ? [previous.resource] : [])],
        }),
      );
    });
  }
}
