import { TerraformOutput, type TerraformStack } from "cdktf";
import type { ClusterTopology, TopologyProps } from "./topology.js";
import { renderCloudInit } from "../../cloud-init/render.js";
import type { ResolvedEnvironment } from "../config/schema.js";
import { CLUSTER_NEEDS_RDS, clusterLayout } from "../config/cluster.js";
import { AdminKeyPair } from "../constructs/admin-key-pair.js";
import { AppServers } from "../constructs/app-servers.js";
import { Bastion } from "../constructs/bastion.js";
import { CLB_BACKEND_SOURCE_CIDR, ClusterNetwork } from "../constructs/cluster-network.js";
import { LoadBalancer } from "../constructs/load-balancer.js";
import { NatGateway } from "../constructs/nat-gateway.js";
import { RollingDeployment } from "../constructs/rolling-deployment.js";
import { databaseAlarms, loadBalancerAlarms, serverAlarms } from "../constructs/alarms.js";
import { BackupBucket } from "../constructs/backup-bucket.js";
import { clusterServerCloudInit, warnAlertsWithoutMail } from "./server-cloud-init.js";
import { filesBucket, filesEnvSettings, filesOutputs } from "./files-parts.js";
import { composeAutoScaling, fleetPlan, lateGroupId } from "./scaling-parts.js";
import type { ScalingGroup } from "../constructs/scaling-group.js";
import {
  alertWebhook,
  backupOutputs,
  databaseHasAddress,
  databaseOutput,
  environmentAlarms,
  jwtSecretVariable,
  mailSettings,
  rdsDatabase,
  rdsStandbyZone,
} from "./stack-parts.js";

/**
 * The `cluster` topology: network over two zones, NAT gateway, public load balancer, several app
 * servers without public addresses, a bastion, RDS for PostgreSQL, a TOS bucket for the daily
 * export of the database (by the first server), alarms and a rolling deployment. Construct ids
 * are those of the stack before it was split per topology (test/infra/fixtures/addresses.json).
 */
export function composeCluster(stack: TerraformStack, props: TopologyProps): ClusterTopology {
  const { name, environment: env, tags, release } = props;
  if (env.database.mode !== "rds") throw new Error(CLUSTER_NEEDS_RDS); // the config schema refuses it first
  const layout = clusterLayout(env);
  const jwtSecret = jwtSecretVariable(stack, "cluster");

  const network = new ClusterNetwork(stack, "network", {
    name,
    vpcCidr: env.network.vpcCidr,
    zones: layout.zones,
    appSubnetCidrs: layout.appSubnetCidrs,
    loadBalancerSubnetCidr: layout.loadBalancerSubnetCidr,
    adminCidrs: env.ssh.adminCidrs,
    tags,
    ...(env.cluster.autoScaling ? { httpBetweenAppServers: true } : {}),
  });

  const nat = new NatGateway(stack, "nat", {
    name,
    vpcId: network.vpcId,
    subnetId: network.loadBalancerSubnetId,
    sourceSubnetIds: network.appSubnetIds,
    spec: env.cluster.natGateway.spec,
    eip: env.eip,
    tags,
  });

  const keyPair = new AdminKeyPair(stack, "key-pair", { name, publicKey: env.ssh.publicKey });

  const cloudInit = clusterServerCloudInit(env, name);
  const autoScaling = env.cluster.autoScaling;
  const fleet = autoScaling ? fleetPlan(env, name, cloudInit) : undefined;
  let scaling: ScalingGroup | undefined;
  const servers = new AppServers(stack, "servers", {
    name,
    count: env.cluster.servers,
    placements: layout.zones.map((zone, i) => ({ zone, subnetId: network.appSubnetIds[i]! })),
    instanceType: env.instanceType,
    image: env.image,
    systemDisk: env.systemDisk,
    securityGroupId: network.appSecurityGroupId,
    keyPairName: keyPair.keyPairName,
    cloudConfig: renderCloudInit(cloudInit.otherServers),
    firstServerCloudConfig: renderCloudInit(cloudInit.firstServer),
    dependsOn: nat.ready,
    tags,
  });

  const bastion = new Bastion(stack, "bastion", {
    name,
    zone: layout.zones[0],
    subnetId: network.appSubnetIds[0],
    securityGroupId: network.bastionSecurityGroupId,
    instanceType: env.cluster.bastion.instanceType ?? env.instanceType,
    image: env.image,
    keyPairName: keyPair.keyPairName,
    eip: env.eip,
    tags,
  });

  const database = rdsDatabase(stack, name, env.database, tags, {
    primaryZone: layout.zones[0],
    // The same written-down value as in the single topology, so switching keeps the instance.
    secondaryZone: rdsStandbyZone(env.database),
    subnetId: network.appSubnetIds[0],
    allowedCidrs: network.appSubnetCidrs,
  });

  // The independent copy of the RDS database: the first app server exports it daily to TOS, so
  // only that server gets the role (the others cannot touch the bucket).
  const backups = new BackupBucket(stack, "backups", {
    name,
    bucketName: cloudInit.firstServer.offsiteBackup.bucket,
    retentionDays: env.backups.retentionDays,
    instanceIds: [servers.servers[0]!.instanceId],
    tags,
  });

  // Every app server signs attachments: the first through the backup role it already holds (one
  // role per instance), the others through the files role.
  const files = filesBucket(stack, name, env, tags, {
    existingRoles: [backups.role],
    instancesWithoutRole: servers.servers.slice(1).map((s) => s.instanceId),
  });

  const mail = mailSettings(stack, env);
  const webhook = alertWebhook(stack, env);
  warnAlertsWithoutMail(stack, env);
  const rollout = new RollingDeployment(stack, "app", {
    servers: servers.servers.map((s, i) => ({
      ...s,
      serverOptions: i === 0 ? cloudInit.firstServer : cloudInit.otherServers,
      // With autoScaling the first server also seeds and publishes: in its deploy step only.
      ...(i === 0 && fleet
        ? {
            serverOptions: fleet.firstServerDeploy,
            lateHostSettings: fleet.lateHostSettings(lateGroupId(() => scaling)),
            publishFleet: true,
          }
        : {}),
    })),
    bastionHost: bastion.publicIp,
    instanceType: env.instanceType,
    sshUser: env.ssh.user,
    sshPrivateKeyPath: env.ssh.privateKeyPath,
    release,
    databaseUrl: database.connectionUrl,
    jwtSecret: jwtSecret.value,
    smtpUrl: mail.smtpUrl,
    alertWebhook: webhook?.value,
    // Requests reach the app through the load balancer (from its layer-7 source range) and
    // Nginx: both may report the client. Without the CLB's range every client would share the
    // CLB node's address, and one rate-limit budget.
    settings: { TRUSTED_PROXIES: `127.0.0.1,${CLB_BACKEND_SOURCE_CIDR}`, ...mail.settings, ...filesEnvSettings(env) },
    dependsOn: [bastion.eipAssociation, database.reachable, ...nat.ready, ...(files?.ready ?? [])],
    preconditions: [
      databaseHasAddress(database),
      ...jwtSecret.preconditions,
      ...mail.preconditions,
      ...(webhook?.preconditions ?? []),
    ],
  });

  // After the rollout: each server joins the load balancer once its deploy step has succeeded.
  const loadBalancer = new LoadBalancer(stack, "load-balancer", {
    name,
    subnetId: network.loadBalancerSubnetId,
    spec: env.cluster.loadBalancer.spec,
    eip: env.cluster.loadBalancer.eip,
    serverInstanceIds: servers.servers.map((s) => s.instanceId),
    serverReady: rollout.steps.map((step) => [step.resource]),
    certificate: env.cluster.certificate,
    tags,
  });

  if (autoScaling && fleet) {
    scaling = composeAutoScaling(stack, {
      name,
      environment: env,
      settings: autoScaling,
      plan: fleet,
      network,
      servers,
      keyPairName: keyPair.keyPairName,
      serverGroupId: loadBalancer.serverGroupId,
      bastionHost: bastion.publicIp,
      rollout,
      backups,
      files,
      tags,
    });
  }

  const cert = env.cluster.certificate;
  const apiUrl = cert ? `https://${cert.domain}` : `http://${loadBalancer.publicIp}`;
  const firstServer = servers.servers[0]!;
  new TerraformOutput(stack, "load_balancer_ip", {
    value: loadBalancer.publicIp,
    description: cert
      ? `Public IP of the load balancer (point ${cert.domain}'s A record here)`
      : "Public IP of the load balancer (the API's address)",
  });
  new TerraformOutput(stack, "api_url", { value: apiUrl, description: "Base URL of the API" });
  new TerraformOutput(stack, "docs_url", { value: `${apiUrl}/docs`, description: "Interactive API documentation" });
  sshOutputs(stack, env, bastion.publicIp, firstServer.privateIp);
  new TerraformOutput(stack, "server_private_ips", {
    value: servers.servers.map((s) => s.privateIp),
    description: "Private IPs of the app servers, in rollout order",
  });
  new TerraformOutput(stack, "nat_public_ip", {
    value: nat.publicIp,
    description: "The address the app servers' outbound traffic comes from (for third-party allowlists)",
  });
  databaseOutput(
    stack,
    database,
    "Private endpoint of RDS for PostgreSQL (reachable from the app servers and the bastion only)",
  );
  backupOutputs(
    stack,
    backups,
    "Private TOS bucket holding the daily pg_dump of RDS exported by the first app server (docs/operations.md)",
  );
  filesOutputs(stack, files);

  // Each app server's own CPU/memory/disk alarms (rule names carry the server's number), and the
  // load balancer's view of the app's health (/readyz).
  const alarms = environmentAlarms(stack, name, env, tags, [
    ...loadBalancerAlarms(name, loadBalancer.loadBalancerId, loadBalancer.httpListenerId),
    ...servers.servers.flatMap((server, i) =>
      serverAlarms(`${name}-app-${i + 1}`, server.instanceId).map((a) => ({ ...a, id: `app-${i + 1}-${a.id}` })),
    ),
    ...databaseAlarms(name, database.instanceId),
  ]);

  return {
    kind: "cluster",
    network,
    loadBalancer,
    servers,
    bastion,
    rollout,
    database,
    backups,
    files,
    alarms,
    scaling,
  };
}

/**
 * How to reach the bastion and an app server. The jump uses ProxyCommand rather than `-J`:
 * options given on the command line (`-i`) do not apply to a `-J` jump host, so a key that is
 * not one of ssh's defaults failed on the bastion hop.
 */
function sshOutputs(stack: TerraformStack, env: ResolvedEnvironment, bastionIp: string, serverIp: string): void {
  const user = env.ssh.user;
  const key = env.ssh.privateKeyPath ? `-i ${env.ssh.privateKeyPath} ` : "";
  new TerraformOutput(stack, "bastion_ssh_command", {
    value: `ssh ${key}${user}@${bastionIp}`,
    description: "How to log in to the bastion (the only host reachable by SSH)",
  });
  new TerraformOutput(stack, "server_ssh_command", {
    value: key
      ? `ssh ${key}-o ProxyCommand="ssh ${key}-W %h:%p ${user}@${bastionIp}" ${user}@${serverIp}`
      : `ssh -J ${user}@${bastionIp} ${user}@${serverIp}`,
    description: "How to reach an app server through the bastion; replace the IP with any of server_private_ips",
  });
}
