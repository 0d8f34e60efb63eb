import type { ResolvedEnvironment } from "../config/schema.js";
import type { Alarms } from "../constructs/alarms.js";
import type { AppDeployment, Release } from "../constructs/app-deployment.js";
import type { AppServers } from "../constructs/app-servers.js";
import type { FilesBucket } from "../constructs/files-bucket.js";
import type { BackupBucket } from "../constructs/backup-bucket.js";
import type { Bastion } from "../constructs/bastion.js";
import type { ClusterNetwork } from "../constructs/cluster-network.js";
import type { LoadBalancer } from "../constructs/load-balancer.js";
import type { Network } from "../constructs/network.js";
import type { PostgresDatabase } from "../constructs/postgres-database.js";
import type { ScalingGroup } from "../constructs/scaling-group.js";
import type { RollingDeployment } from "../constructs/rolling-deployment.js";
import type { TodoServer } from "../constructs/todo-server.js";

/** What composing a topology needs: the same for both. */
export interface TopologyProps {
  /** Prefix of every resource name: `<project>-<environment>`, e.g. "todo-api-dev". */
  readonly name: string;
  /** The validated environment (stack.config.json merged with its defaults). */
  readonly environment: ResolvedEnvironment;
  /** Tags of every taggable resource. */
  readonly tags: Readonly<Record<string, string>>;
  /** The release the deploy step uploads and switches to. */
  readonly release: Release;
}

/** One server with its own public IP (`"topology": "single"`). */
export interface SingleTopology {
  readonly kind: "single";
  readonly network: Network;
  readonly server: TodoServer;
  readonly deployment: AppDeployment;
  /** RDS for PostgreSQL in `rds` mode; in `local` mode the database is on the server. */
  readonly database?: PostgresDatabase;
  /** Off-server backups: the TOS bucket and the role of the server that exports them. */
  readonly backups: BackupBucket;
  /** Attachments (`files`): the bucket and its policy; absent when files are off. */
  readonly files?: FilesBucket;
  /** CloudMonitor alarms, when `alerts` is configured. */
  readonly alarms?: Alarms;
}

/** Load balancer, several servers, bastion, NAT and RDS (`"topology": "cluster"`). */
export interface ClusterTopology {
  readonly kind: "cluster";
  readonly network: ClusterNetwork;
  readonly loadBalancer: LoadBalancer;
  readonly servers: AppServers;
  readonly bastion: Bastion;
  readonly rollout: RollingDeployment;
  readonly database: PostgresDatabase;
  /** The TOS bucket the first server exports the database to, and its role. */
  readonly backups: BackupBucket;
  /** Attachments (`files`): the bucket and its policy; absent when files are off. */
  readonly files?: FilesBucket;
  /** CloudMonitor alarms, when `alerts` is configured. */
  readonly alarms?: Alarms;
  /** The Auto Scaling group (`cluster.autoScaling`); absent without it. */
  readonly scaling?: ScalingGroup;
}
