import { Construct } from "constructs";
import { S3Backend, TerraformOutput, TerraformStack, TerraformVariable } from "cdktf";
import { NullProvider } from "@cdktf/provider-null/lib/provider";
import { VolcengineProvider } from "../../.gen/providers/volcengine/provider";
import { renderCloudInit } from "../../cloud-init/render";
import type { CloudInitOptions } from "../../cloud-init/options";
import type { ResolvedEnvironment, StateConfig } from "../config/schema";
import { AppDeployment, type Release } from "../constructs/app-deployment";
import { Network } from "../constructs/network";
import { PostgresDatabase } from "../constructs/postgres-database";
import { TodoServer } from "../constructs/todo-server";

export interface TodoStackProps {
  project: string;
  environment: ResolvedEnvironment;
  state: StateConfig;
  release: Release;
}

/**
 * One environment of the Todo API (dev, prod, ...): network, server, optional managed
 * PostgreSQL, and the app deployment. It only composes constructs; resource details live in them.
 */
export class TodoStack extends TerraformStack {
  readonly network: Network;
  readonly server: TodoServer;
  readonly database?: PostgresDatabase;
  readonly deployment: AppDeployment;

  constructor(scope: Construct, id: string, props: TodoStackProps) {
    super(scope, id);
    // startswith/strcontains in expressions and the S3 backend's `endpoints` need Terraform 1.6+.
    this.addOverride("terraform.required_version", ">= 1.6.0");
    const env = props.environment;
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

    this.network = new Network(this, "network", {
      name,
      zone: env.zone,
      vpcCidr: env.network.vpcCidr,
      subnetCidr: env.network.subnetCidr,
      adminCidrs: env.ssh.adminCidrs,
      tags,
    });

    const cloudInit: CloudInitOptions = {
      environment: env.name,
      databaseMode: env.database.mode,
      ...(env.https ? { domain: env.https.domain, acmeEmail: env.https.acmeEmail } : {}),
      ...(env.nodeMirror ? { nodeMirror: env.nodeMirror } : {}),
    };

    this.server = new TodoServer(this, "server", {
      name,
      zone: env.zone,
      instanceType: env.instanceType,
      image: env.image,
      systemDisk: env.systemDisk,
      subnetId: this.network.subnetId,
      securityGroupId: this.network.securityGroupId,
      sshPublicKey: env.ssh.publicKey,
      cloudConfig: renderCloudInit(cloudInit),
      eip: env.eip,
      tags,
    });

    if (env.database.mode === "rds") {
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
      this.database = new PostgresDatabase(this, "database", {
        name,
        engineVersion: env.database.engineVersion,
        nodeSpec: env.database.nodeSpec,
        storageGb: env.database.storageGb,
        primaryZone: env.zone,
        secondaryZone: env.database.secondaryZone ?? env.zone,
        subnetId: this.network.subnetId,
        subnetCidr: this.network.subnetCidr,
        databaseName: env.database.databaseName,
        username: env.database.username,
        password: dbPassword.stringValue,
        tags,
      });
    }

    this.deployment = new AppDeployment(this, "app", {
      host: this.server.publicIp,
      instanceId: this.server.instanceId,
      sshUser: env.ssh.user,
      sshPrivateKeyPath: env.ssh.privateKeyPath,
      release: props.release,
      databaseUrl: this.database?.connectionUrl,
      jwtSecret: jwtSecret.stringValue,
      dependsOn: [this.server.eipAssociation, ...(this.database ? [this.database.reachable] : [])],
      preconditions: this.database
        ? [
            {
              condition: this.database.hasAddress,
              errorMessage: "RDS for PostgreSQL reported no endpoint address; check the instance in the console.",
            },
          ]
        : undefined,
    });

    const apiUrl = env.https ? `https://${env.https.domain}` : `http://${this.server.publicIp}`;
    new TerraformOutput(this, "public_ip", {
      value: this.server.publicIp,
      description: "Elastic IP of the server (point your domain's A record here)",
    });
    new TerraformOutput(this, "api_url", { value: apiUrl, description: "Base URL of the API" });
    new TerraformOutput(this, "docs_url", { value: `${apiUrl}/docs`, description: "Interactive API documentation" });
    new TerraformOutput(this, "ssh_command", {
      value: `ssh ${env.ssh.privateKeyPath ? `-i ${env.ssh.privateKeyPath} ` : ""}${env.ssh.user}@${this.server.publicIp}`,
      description: "How to log in to the server",
    });
    if (this.database) {
      new TerraformOutput(this, "database_endpoint", {
        value: `${this.database.host}:${this.database.port}`,
        description: "Private endpoint of RDS for PostgreSQL (reachable from the server only)",
      });
    }
  }
}
