import { Construct } from "constructs";
import { S3Backend, TerraformOutput, TerraformStack, TerraformVariable } from "cdktf";
import { NullProvider } from "@cdktf/provider-null/lib/provider";
import { VolcengineProvider } from "../../.gen/providers/volcengine/provider";
import { renderCloudInit } from "../../cloud-init/render";
import type { ResolvedEnvironment, StateConfig } from "../config/schema";
import { CLUSTER_NEEDS_RDS, clusterLayout } from "../config/cluster";
import { AppDeployment, type Release } from "../constructs/app-deployment";
import { Network } from "../constructs/network";
import { PostgresDatabase } from "../constructs/postgres-database";
import { TodoServer } from "../constructs/todo-server";
import { AdminKeyPair } from "../constructs/admin-key-pair";
import { AppServers } from "../constructs/app-servers";
import { Bastion } from "../constructs/bastion";
import { ClusterNetwork } from "../constructs/cluster-network";
import { LoadBalancer } from "../constructs/load-balancer";
import { NatGateway } from "../constructs/nat-gateway";
import { RollingDeployment } from "../constructs/rolling-deployment";
import { Alarms, databaseAlarms, loadBalancerAlarms, serverAlarms, type MetricAlarm } from "../constructs/alarms";
import { BackupBucket } from "../constructs/backup-bucket";
import { clusterServerCloudInit, singleServerCloudInit } from "./server-cloud-init";

export interface TodoStackProps {
  project: string;
  environment: ResolvedEnvironment;
  state: StateConfig;
  release: Release;
}

/**
 * One environment of the Todo API (dev, prod, ...) in one of two topologies:
 * - `single`: network, one server with its own public IP, optional managed PostgreSQL, and the
 *   app deployment;
 * - `cluster`: network over two zones, NAT gateway, public load balancer, several app servers
 *   without public addresses, a bastion, RDS for PostgreSQL, a TOS bucket for the daily export
 *   of the database (by the first server), and a rolling deployment.
 * It only composes constructs; resource details live in them.
 */
export class TodoStack extends TerraformStack {
  readonly topology: "single" | "cluster";
  /** single topology */
  readonly network?: Network;
  readonly server?: TodoServer;
  readonly deployment?: AppDeployment;
  /** cluster topology */
  readonly clusterNetwork?: ClusterNetwork;
  readonly loadBalancer?: LoadBalancer;
  readonly appServers?: AppServers;
  readonly bastion?: Bastion;
  readonly rollout?: RollingDeployment;
  readonly database?: PostgresDatabase;
  /** Off-server backups: the TOS bucket and the role of the server that exports them. */
  readonly backups?: BackupBucket;
  /** CloudMonitor alarms, when `alerts` is configured. */
  readonly alarms?: Alarms;

  constructor(scope: Construct, id: string, props: TodoStackProps) {
    super(scope, id);
    // startswith/strcontains in expressions and the S3 backend's `endpoints` need Terraform 1.6+.
    this.addOverride("terraform.required_version", ">= 1.6.0");
    const env = props.environment;
    this.topology = env.topology;
    const name = `${props.project}-${env.name}`;
    const tags = { ...env.tags, "managed-by": "cdktf", app: props.project, environment: env.name };

    // Only the region: credentials come from VOLCENGINE_ACCESS_KEY / VOLCENGINE_SECRET_KEY at
    // plan/apply time and never appear in the synthesized configuration.
    new VolcengineProvider(this, "volcengine", { region: env.region });
    new NullProvider(this, "null");

    if (props.state.backend === "s3") {
      // Volcengine TOS through its S3-compatible API; credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY.
      new S3Backend(this, {
        bucket: props.state.bucket,
        key: `${props.state.keyPrefix}/${env.name}/terraform.tfstate`.replace(/^\/+/, ""),
        region: props.state.region,
        endpoints: { s3: props.state.endpoint },
        usePathStyle: false,
        skipCredentialsValidation: true,
        skipRegionValidation: true,
        skipRequestingAccountId: true,
        skipMetadataApiCheck: true,
        skipS3Checksum: true,
      });
    }

    if (env.topology === "cluster") {
      const parts = this.composeCluster(name, env, tags, props.release);
      this.clusterNetwork = parts.network;
      this.loadBalancer = parts.loadBalancer;
      this.appServers = parts.servers;
      this.bastion = parts.bastion;
      this.rollout = parts.rollout;
      this.database = parts.database;
      this.backups = parts.backups;
      this.alarms = parts.alarms;
    } else {
      const parts = this.composeSingle(name, env, tags, props.release);
      this.network = parts.network;
      this.server = parts.server;
      this.deployment = parts.deployment;
      this.database = parts.database;
      this.backups = parts.backups;
      this.alarms = parts.alarms;
    }
  }

  private composeSingle(name: string, env: ResolvedEnvironment, tags: Record<string, string>, release: Release) {
    const jwtSecret = new TerraformVariable(this, "jwt_secret", {
      type: "string",
      sensitive: true,
      nullable: false,
      default: "",
      description:
        "JWT signing secret for the API (>= 32 characters of [A-Za-z0-9+/=_.-]). Set TF_VAR_jwt_secret; empty = keep the one the server generated at setup.",
      validation: [
        {
          condition: `\${var.jwt_secret == "" || (length(var.jwt_secret) >= 32 && can(regex("^[A-Za-z0-9+/=_.-]+$", var.jwt_secret)))}`,
          errorMessage: "jwt_secret must be empty or at least 32 characters of letters, digits and +/=_.-",
        },
      ],
    });

    const network = new Network(this, "network", {
      name,
      zone: env.zone,
      vpcCidr: env.network.vpcCidr,
      subnetCidr: env.network.subnetCidr,
      adminCidrs: env.ssh.adminCidrs,
      tags,
    });

    const cloudInit = singleServerCloudInit(env, name);

    const server = new TodoServer(this, "server", {
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
        ? this.rdsDatabase(name, env.database, tags, {
            primaryZone: env.zone,
            secondaryZone: env.database.secondaryZone ?? env.zone,
            subnetId: network.subnetId,
            allowedCidrs: [network.subnetCidr],
          })
        : undefined;

    const backups = new BackupBucket(this, "backups", {
      name,
      bucketName: cloudInit.offsiteBackup.bucket,
      retentionDays: env.backups.retentionDays,
      instanceIds: [server.instanceId],
      tags,
    });
    const alarms = this.environmentAlarms(name, env, tags, [
      ...serverAlarms(name, server.instanceId),
      ...(database ? databaseAlarms(name, database.instanceId) : []),
    ]);

    const deployment = new AppDeployment(this, "app", {
      host: server.publicIp,
      instanceId: server.instanceId,
      sshUser: env.ssh.user,
      sshPrivateKeyPath: env.ssh.privateKeyPath,
      release,
      serverOptions: cloudInit,
      databaseUrl: database?.connectionUrl,
      jwtSecret: jwtSecret.stringValue,
      dependsOn: [server.eipAssociation, ...(database ? [database.reachable] : [])],
      preconditions: database ? [databaseHasAddress(database)] : undefined,
    });

    const apiUrl = env.https ? `https://${env.https.domain}` : `http://${server.publicIp}`;
    new TerraformOutput(this, "public_ip", {
      value: server.publicIp,
      description: "Elastic IP of the server (point your domain's A record here)",
    });
    new TerraformOutput(this, "api_url", { value: apiUrl, description: "Base URL of the API" });
    new TerraformOutput(this, "docs_url", { value: `${apiUrl}/docs`, description: "Interactive API documentation" });
    new TerraformOutput(this, "ssh_command", {
      value: `ssh ${env.ssh.privateKeyPath ? `-i ${env.ssh.privateKeyPath} ` : ""}${env.ssh.user}@${server.publicIp}`,
      description: "How to log in to the server",
    });
    if (database) databaseOutput(this, database, "Private endpoint of RDS for PostgreSQL (reachable from the server only)");

    new TerraformOutput(this, "backup_bucket", {
      value: backups.bucketName,
      description: "Private TOS bucket holding the off-server database backups (docs/operations.md)",
    });

    return { network, server, database, deployment, backups, alarms };
  }

  private composeCluster(name: string, env: ResolvedEnvironment, tags: Record<string, string>, release: Release) {
    if (env.database.mode !== "rds") throw new Error(CLUSTER_NEEDS_RDS); // the config schema refuses it first
    const layout = clusterLayout(env);

    // Required here: every server must sign and verify tokens with the same secret, so the one
    // each server would generate for itself at setup cannot be kept.
    const jwtSecret = new TerraformVariable(this, "jwt_secret", {
      type: "string",
      sensitive: true,
      nullable: false,
      description:
        "JWT signing secret shared by all app servers (>= 32 characters of [A-Za-z0-9+/=_.-]). Set TF_VAR_jwt_secret, e.g. to the output of `openssl rand -base64 48`.",
      validation: [
        {
          condition: `\${length(var.jwt_secret) >= 32 && can(regex("^[A-Za-z0-9+/=_.-]+$", var.jwt_secret))}`,
          errorMessage: "jwt_secret must be at least 32 characters of letters, digits and +/=_.- (all servers share it)",
        },
      ],
    });

    const network = new ClusterNetwork(this, "network", {
      name,
      vpcCidr: env.network.vpcCidr,
      zones: layout.zones,
      appSubnetCidrs: layout.appSubnetCidrs,
      loadBalancerSubnetCidr: layout.loadBalancerSubnetCidr,
      adminCidrs: env.ssh.adminCidrs,
      tags,
    });

    const nat = new NatGateway(this, "nat", {
      name,
      vpcId: network.vpcId,
      subnetId: network.loadBalancerSubnetId,
      sourceSubnetIds: network.appSubnetIds,
      spec: env.cluster.natGateway.spec,
      eip: env.eip,
      tags,
    });

    const keyPair = new AdminKeyPair(this, "key-pair", { name, publicKey: env.ssh.publicKey });

    const cloudInit = clusterServerCloudInit(env, name);
    const servers = new AppServers(this, "servers", {
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

    const bastion = new Bastion(this, "bastion", {
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

    const loadBalancer = new LoadBalancer(this, "load-balancer", {
      name,
      subnetId: network.loadBalancerSubnetId,
      spec: env.cluster.loadBalancer.spec,
      eip: env.cluster.loadBalancer.eip,
      serverInstanceIds: servers.servers.map((s) => s.instanceId),
      certificate: env.cluster.certificate,
      tags,
    });

    const database = this.rdsDatabase(name, env.database, tags, {
      primaryZone: layout.zones[0],
      // As in the single topology when set there, so switching topologies keeps the instance.
      secondaryZone: env.database.secondaryZone ?? layout.zones[1],
      subnetId: network.appSubnetIds[0],
      allowedCidrs: network.appSubnetCidrs,
    });

    // The independent copy of the RDS database: the first app server exports it daily to TOS, so
    // only that server gets the role (the others cannot touch the bucket).
    const backups = new BackupBucket(this, "backups", {
      name,
      bucketName: cloudInit.firstServer.offsiteBackup.bucket,
      retentionDays: env.backups.retentionDays,
      instanceIds: [servers.servers[0]!.instanceId],
      tags,
    });

    const rollout = new RollingDeployment(this, "app", {
      servers: servers.servers.map((s, i) => ({ ...s, serverOptions: i === 0 ? cloudInit.firstServer : cloudInit.otherServers })),
      bastionHost: bastion.publicIp,
      sshUser: env.ssh.user,
      sshPrivateKeyPath: env.ssh.privateKeyPath,
      release,
      databaseUrl: database.connectionUrl,
      jwtSecret: jwtSecret.stringValue,
      // Requests reach the app through the load balancer and Nginx: both may report the client.
      settings: { TRUSTED_PROXIES: `127.0.0.1,${network.loadBalancerSubnetCidr}` },
      dependsOn: [bastion.eipAssociation, database.reachable, ...nat.ready],
      preconditions: [databaseHasAddress(database)],
    });

    const cert = env.cluster.certificate;
    const apiUrl = cert ? `https://${cert.domain}` : `http://${loadBalancer.publicIp}`;
    const key = env.ssh.privateKeyPath ? `-i ${env.ssh.privateKeyPath} ` : "";
    const firstServer = servers.servers[0]!;
    new TerraformOutput(this, "load_balancer_ip", {
      value: loadBalancer.publicIp,
      description: cert
        ? `Public IP of the load balancer (point ${cert.domain}'s A record here)`
        : "Public IP of the load balancer (the API's address)",
    });
    new TerraformOutput(this, "api_url", { value: apiUrl, description: "Base URL of the API" });
    new TerraformOutput(this, "docs_url", { value: `${apiUrl}/docs`, description: "Interactive API documentation" });
    new TerraformOutput(this, "bastion_ssh_command", {
      value: `ssh ${key}${env.ssh.user}@${bastion.publicIp}`,
      description: "How to log in to the bastion (the only host reachable by SSH)",
    });
    new TerraformOutput(this, "server_ssh_command", {
      value: `ssh ${key}-J ${env.ssh.user}@${bastion.publicIp} ${env.ssh.user}@${firstServer.privateIp}`,
      description: "How to reach an app server through the bastion (ProxyJump); replace the IP with any of server_private_ips",
    });
    new TerraformOutput(this, "server_private_ips", {
      value: servers.servers.map((s) => s.privateIp),
      description: "Private IPs of the app servers, in rollout order",
    });
    new TerraformOutput(this, "nat_public_ip", {
      value: nat.publicIp,
      description: "The address the app servers' outbound traffic comes from (for third-party allowlists)",
    });
    databaseOutput(this, database, "Private endpoint of RDS for PostgreSQL (reachable from the app servers and the bastion only)");
    new TerraformOutput(this, "backup_bucket", {
      value: backups.bucketName,
      description: "Private TOS bucket holding the daily pg_dump of RDS exported by the first app server (docs/operations.md)",
    });

    // Each app server's own CPU/memory/disk alarms (rule names carry the server's number), and the
    // load balancer's view of the app's health (/readyz).
    const alarms = this.environmentAlarms(name, env, tags, [
      ...loadBalancerAlarms(name, loadBalancer.loadBalancerId, loadBalancer.httpListenerId),
      ...servers.servers.flatMap((server, i) =>
        serverAlarms(`${name}-app-${i + 1}`, server.instanceId).map((a) => ({ ...a, id: `app-${i + 1}-${a.id}` })),
      ),
      ...databaseAlarms(name, database.instanceId),
    ]);

    return { network, loadBalancer, servers, bastion, rollout, database, backups, alarms };
  }

  /** The environment's CloudMonitor alarms, or none without `alerts` in the configuration. */
  private environmentAlarms(name: string, env: ResolvedEnvironment, tags: Record<string, string>, alarms: MetricAlarm[]): Alarms | undefined {
    if (!env.alerts) return undefined;
    return new Alarms(this, "alarms", {
      name,
      region: env.region,
      email: env.alerts.email,
      webhook: env.alerts.webhook,
      alarms,
      tags,
    });
  }

  private rdsDatabase(
    name: string,
    db: Extract<ResolvedEnvironment["database"], { mode: "rds" }>,
    tags: Record<string, string>,
    placement: { primaryZone: string; secondaryZone: string; subnetId: string; allowedCidrs: readonly string[] },
  ): PostgresDatabase {
    const dbPassword = new TerraformVariable(this, "db_password", {
      type: "string",
      sensitive: true,
      nullable: false,
      description:
        "Password of the RDS application account (8-32 characters; upper, lower, digits, symbols). Set TF_VAR_db_password.",
      validation: [
        {
          condition: "${length(var.db_password) >= 8 && length(var.db_password) <= 32}",
          errorMessage: "db_password must be 8 to 32 characters long",
        },
      ],
    });
    return new PostgresDatabase(this, "database", {
      name,
      engineVersion: db.engineVersion,
      nodeSpec: db.nodeSpec,
      storageGb: db.storageGb,
      ...placement,
      databaseName: db.databaseName,
      username: db.username,
      password: dbPassword.stringValue,
      tags,
    });
  }
}

function databaseHasAddress(database: PostgresDatabase) {
  return {
    condition: database.hasAddress,
    errorMessage: "RDS for PostgreSQL reported no endpoint address; check the instance in the console.",
  };
}

function databaseOutput(scope: Construct, database: PostgresDatabase, description: string): void {
  new TerraformOutput(scope, "database_endpoint", { value: `${database.host}:${database.port}`, description });
}
