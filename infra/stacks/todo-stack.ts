import type { Construct } from "constructs";
import { S3Backend, TerraformStack } from "cdktf";
import { NullProvider } from "@cdktf/provider-null/lib/provider";
import { VolcengineProvider } from "../../.gen/providers/volcengine/provider/index.js";
import type { ResolvedEnvironment, StateConfig } from "../config/schema.js";
import type { Release } from "../constructs/app-deployment.js";
import { composeCluster } from "./cluster-topology.js";
import { composeSingle } from "./single-topology.js";
import type { ClusterTopology, SingleTopology } from "./topology.js";
import { withDataGuard } from "./data-guard.js";

export interface TodoStackProps {
  /** Prefix of every resource name and of the stack names (`<project>-<environment>`). */
  readonly project: string;
  /** The validated environment this stack deploys. */
  readonly environment: ResolvedEnvironment;
  /** Where Terraform keeps the state. */
  readonly state: StateConfig;
  /** The release the deploy step uploads and switches to. */
  readonly release: Release;
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
  /** What the environment's topology is made of: one typed result per topology (`kind`). */
  readonly topology: SingleTopology | ClusterTopology;
  private readonly allowReplace: ResolvedEnvironment["allowReplace"];

  constructor(scope: Construct, id: string, props: TodoStackProps) {
    super(scope, id);
    // startswith/strcontains in expressions and the S3 backend's `endpoints` need Terraform 1.6+.
    this.addOverride("terraform.required_version", ">= 1.6.0");
    const env = props.environment;
    const name = `${props.project}-${env.name}`;
    this.allowReplace = env.allowReplace;
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

    const topology = { name, environment: env, tags, release: props.release };
    this.topology = env.topology === "cluster" ? composeCluster(this, topology) : composeSingle(this, topology);
  }

  /**
   * The synthesized configuration plus the data-loss guard (data-guard.ts), which is computed from
   * the finished configuration: it follows the ForceNew chains of the resources as synthesized.
   */
  override toTerraform(): ReturnType<TerraformStack["toTerraform"]> {
    return withDataGuard(super.toTerraform(), { stack: this.node.id, allowReplace: this.allowReplace });
  }
}
