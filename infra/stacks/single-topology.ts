import { TerraformOutput, type TerraformStack } from "cdktf";
import type { SingleTopology, TopologyProps } from "./topology.js";
import { renderCloudInit } from "../../cloud-init/render.js";
import { AppDeployment } from "../constructs/app-deployment.js";
import { Network } from "../constructs/network.js";
import { TodoServer } from "../constructs/todo-server.js";
import { databaseAlarms, serverAlarms } from "../constructs/alarms.js";
import { BackupBucket } from "../constructs/backup-bucket.js";
import { warnAlertsWithoutMail, singleServerCloudInit } from "./server-cloud-init.js";
import { filesBucket, filesEnvSettings, filesOutputs } from "./files-parts.js";
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
 * The `single` topology: network, one server with its own public IP, optional managed
 * PostgreSQL, the backup bucket, alarms and the app deployment. Construct ids are those of the
 * stack before it was split per topology (test/infra/fixtures/addresses.json): existing state
 * keeps its addresses.
 */
export function composeSingle(stack: TerraformStack, props: TopologyProps): SingleTopology {
  const { name, environment: env, tags, release } = props;
  const jwtSecret = jwtSecretVariable(stack, "single");

  const network = new Network(stack, "network", {
    name,
    zone: env.zone,
    vpcCidr: env.network.vpcCidr,
    subnetCidr: env.network.subnetCidr,
    adminCidrs: env.ssh.adminCidrs,
    tags,
  });

  const cloudInit = singleServerCloudInit(env, name);

  const server = new TodoServer(stack, "server", {
    name,
    zone: env.zone,
    instanceType: env.instanceType,
    image: env.image,
    systemDisk: env.systemDisk,
    subnetId: network.subnetId,
    securityGroupId: network.securityGroupId,
    sshPublicKey: env.ssh.publicKey,
    cloudConfig: renderCloudInit(cloudInit),
    eip: env.eip,
    tags,
  });

  const database =
    env.database.mode === "rds"
      ? rdsDatabase(stack, name, env.database, tags, {
          primaryZone: env.zone,
          secondaryZone: rdsStandbyZone(env.database),
          subnetId: network.subnetId,
          allowedCidrs: [network.subnetCidr],
        })
      : undefined;

  const backups = new BackupBucket(stack, "backups", {
    name,
    bucketName: cloudInit.offsiteBackup.bucket,
    retentionDays: env.backups.retentionDays,
    instanceIds: [server.instanceId],
    tags,
  });
  // The server holds the backup role (one role per instance): the files policy joins it there.
  const files = filesBucket(stack, name, env, tags, { existingRoles: [backups.role], instancesWithoutRole: [] });
  const alarms = environmentAlarms(stack, name, env, tags, [
    ...serverAlarms(name, server.instanceId),
    ...(database ? databaseAlarms(name, database.instanceId) : []),
  ]);

  const mail = mailSettings(stack, env);
  const webhook = alertWebhook(stack, env);
  warnAlertsWithoutMail(stack, env);
  const preconditions = [
    ...(database ? [databaseHasAddress(database)] : []),
    ...mail.preconditions,
    ...(webhook?.preconditions ?? []),
  ];
  const settings = { ...mail.settings, ...filesEnvSettings(env) };
  const deployment = new AppDeployment(stack, "app", {
    host: server.publicIp,
    instanceId: server.instanceId,
    instanceType: env.instanceType,
    sshUser: env.ssh.user,
    sshPrivateKeyPath: env.ssh.privateKeyPath,
    release,
    serverOptions: cloudInit,
    databaseUrl: database?.connectionUrl,
    jwtSecret: jwtSecret.value,
    smtpUrl: mail.smtpUrl,
    alertWebhook: webhook?.value,
    ...(Object.keys(settings).length > 0 ? { settings } : {}),
    dependsOn: [server.eipAssociation, ...(database ? [database.reachable] : []), ...(files?.ready ?? [])],
    preconditions: preconditions.length ? preconditions : undefined,
  });

  const apiUrl = env.https ? `https://${env.https.domain}` : `http://${server.publicIp}`;
  new TerraformOutput(stack, "public_ip", {
    value: server.publicIp,
    description: "Elastic IP of the server (point your domain's A record here)",
  });
  new TerraformOutput(stack, "api_url", { value: apiUrl, description: "Base URL of the API" });
  new TerraformOutput(stack, "docs_url", { value: `${apiUrl}/docs`, description: "Interactive API documentation" });
  new TerraformOutput(stack, "ssh_command", {
    value: `ssh ${env.ssh.privateKeyPath ? `-i ${env.ssh.privateKeyPath} ` : ""}${env.ssh.user}@${server.publicIp}`,
    description: "How to log in to the server",
  });
  if (database)
    databaseOutput(stack, database, "Private endpoint of RDS for PostgreSQL (reachable from the server only)");
  backupOutputs(stack, backups, "Private TOS bucket holding the off-server database backups (docs/operations.md)");
  filesOutputs(stack, files);

  return { kind: "single", network, server, database, deployment, backups, files, alarms };
}
