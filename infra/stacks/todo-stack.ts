import type { Construct } from "constructs";
import { S3Backend, TerraformStack } from "cdktf";
import { NullProvider } from "@cdktf/provider-null/lib/provider";
import { VolcengineProvider } from "../../.gen/providers/volcengine/provider/index.js";
import type { ResolvedEnvironment, StateConfig } from "../config/schema.js";
import type { AppDeployment, Release } from "../constructs/app-deployment.js";
import type { Network } from "../constructs/network.js";
import type { PostgresDatabase } from "../constructs/postgres-database.js";
import type { TodoServer } from "../constructs/todo-server.js";
import type { AppServers } from "../constructs/app-servers.js";
import type { Bastion } from "../constructs/bastion.js";
import type { ClusterNetwork } from "../constructs/cluster-network.js";
import type { LoadBalancer } from "../constructs/load-balancer.js";
import type { RollingDeployment } from "../constructs/rolling-deployment.js";
import type { Alarms } from "../constructs/alarms.js";
import type { BackupBucket } from "../constructs/backup-bucket.js";
import { composeCluster } from "./cluster-topology.js";
import { composeSingle } from "./single-topology.js";

export interface TodoStackProps {
  project: string;
  environment: ResolvedEnvironment;
  state: StateConfig;
  release: Release;
}

/**
 * One environment of the Todo API (dev, prod, ...): the providers, the state backend, and the
 * environment's topology composed by its own module:
 * - `single` (single-topology.ts): one server with its own public IP;
 * - `cluster` (cluster-topology.ts): load balancer, several servers, bastion, NAT, RDS.
 * Both create their constructs directly in this stack, with the construct ids the stack always
 * used, so Terraform addresses do not depend on how the code is organized.
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

    // Only the region: credentials come from VOLCENGINE_ACCESS_KEY / VOLCENGINE_SECRET_KEY (and
    // VOLCENGINE_SESSION_TOKEN for STS keys) at plan/apply time and never appear in the
    // synthesized configuration.
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
      const parts = composeCluster(this, name, env, tags, props.release);
      this.clusterNetwork = parts.network;
      this.loadBalancer = parts.loadBalancer;
      this.appServers = parts.servers;
      this.bastion = parts.bastion;
      this.rollout = parts.rollout;
      this.database = parts.database;
      this.backups = parts.backups;
      this.alarms = parts.alarms;
    } else {
      const parts = composeSingle(this, name, env, tags, props.release);
      this.network = parts.network;
      this.server = parts.server;
      this.deployment = parts.deployment;
      this.database = parts.database;
      this.backups = parts.backups;
      this.alarms = parts.alarms;
    }
  }
}
