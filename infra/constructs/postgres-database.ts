import { Construct } from "constructs";
import { Fn, TerraformLocal } from "cdktf";
import { RdsPostgresqlAccount } from "../../.gen/providers/volcengine/rds-postgresql-account/index.js";
import { RdsPostgresqlAllowlist } from "../../.gen/providers/volcengine/rds-postgresql-allowlist/index.js";
import { RdsPostgresqlAllowlistAssociate } from "../../.gen/providers/volcengine/rds-postgresql-allowlist-associate/index.js";
import { RdsPostgresqlDatabase } from "../../.gen/providers/volcengine/rds-postgresql-database/index.js";
import { RdsPostgresqlInstance } from "../../.gen/providers/volcengine/rds-postgresql-instance/index.js";
import { tagBlocks } from "./tags.js";
import { apiDescription } from "./description.js";

/** Privileges of the app's RDS account (see the account resource below). */
export const RDS_APP_ACCOUNT_PRIVILEGES = "Login,Inherit";

export interface PostgresDatabaseConfig {
  name: string;
  engineVersion: string;
  nodeSpec: string;
  storageGb: number;
  primaryZone: string;
  secondaryZone: string;
  subnetId: string;
  /** The only networks allowed to connect: the app servers' subnet(s). */
  allowedCidrs: readonly string[];
  databaseName: string;
  username: string;
  /** Reference to a sensitive Terraform variable; never a literal. */
  password: string;
  /** Checked when the account is planned (e.g. "the password variable is set"); not on destroy. */
  passwordPreconditions?: { condition: string; errorMessage: string }[];
  tags: Readonly<Record<string, string>>;
}

/**
 * RDS for PostgreSQL in the environment's subnet, pay-as-you-go: instance, application account
 * owning one database, and an allowlist holding only the app servers' subnet CIDR(s).
 */
export class PostgresDatabase extends Construct {
  readonly instanceId: string;
  /** Private endpoint host and port (Terraform expressions, known after apply). */
  readonly host: string;
  readonly port: string;
  readonly databaseName: string;
  readonly username: string;
  readonly allowedCidrs: readonly string[];
  /** postgres:// URL with the password URL-encoded by Terraform (sensitive). */
  readonly connectionUrl: string;
  /** Terraform condition: the instance reported an address the app can connect to. */
  readonly hasAddress: string;
  /** Done when the server's subnet may connect (what the app deployment waits for). */
  readonly reachable: RdsPostgresqlAllowlistAssociate;

  constructor(scope: Construct, id: string, config: PostgresDatabaseConfig) {
    super(scope, id);
    const instance = new RdsPostgresqlInstance(this, "instance", {
      instanceName: `${config.name}-pg`,
      dbEngineVersion: config.engineVersion,
      nodeSpec: config.nodeSpec,
      storageSpace: config.storageGb,
      primaryZoneId: config.primaryZone,
      secondaryZoneId: config.secondaryZone,
      subnetId: config.subnetId,
      chargeInfo: { chargeType: "PostPaid" },
      tags: tagBlocks(config.tags),
    });
    const allowlist = new RdsPostgresqlAllowlist(this, "allowlist", {
      allowListName: `${config.name}-app-subnet`,
      allowListDesc: apiDescription(
        config.allowedCidrs.length === 1
          ? "Only the subnet of the Todo API server"
          : "Only the subnets of the Todo API servers",
      ),
      allowListType: "IPv4",
      allowList: [...config.allowedCidrs],
    });
    this.reachable = new RdsPostgresqlAllowlistAssociate(this, "allowlist-association", {
      allowListId: allowlist.id,
      instanceId: instance.id,
    });

    const account = new RdsPostgresqlAccount(this, "account", {
      instanceId: instance.id,
      accountName: config.username,
      accountPassword: config.password,
      accountType: "Normal",
      // What the provider's own example sets for a Normal account, and what RDS grants when the
      // field is left out. Without it, `account_privileges` (Optional, not Computed) reads back as
      // "Login,Inherit" and every later plan shows a change whose apply calls
      // RevokeDBAccountPrivilege on the app's account.
      accountPrivileges: RDS_APP_ACCOUNT_PRIVILEGES,
      lifecycle: config.passwordPreconditions?.length ? { precondition: config.passwordPreconditions } : undefined,
      // Associating the allowlist puts the instance in AllowListMaintaining, and RDS refuses
      // account and database changes until it is Running again. The provider waits for Running
      // after the association, not before CreateDBAccount: without this order the two run in
      // parallel and the first deploy fails at random (caught by the local cloud, cluster run).
      dependsOn: [this.reachable],
    });
    const database = new RdsPostgresqlDatabase(this, "database", {
      instanceId: instance.id,
      dbName: config.databaseName,
      owner: account.accountName,
    });
    // The instance's addresses, private (VPC) ones first; the app connects to the first one.
    const all = `flatten(${instance.fqn}.endpoints[*].address)`;
    const addresses = new TerraformLocal(
      this,
      "addresses",
      `\${concat([for a in ${all} : a if lower(a.network_type) == "private"], ${all})}`,
    );
    const host = new TerraformLocal(
      this,
      "host",
      `\${try(coalesce(local.${addresses.friendlyUniqueId}[0].domain, local.${addresses.friendlyUniqueId}[0].ip_address), "")}`,
    );
    const port = new TerraformLocal(this, "port", `\${try(local.${addresses.friendlyUniqueId}[0].port, "5432")}`);

    this.instanceId = instance.id;
    this.host = host.asString;
    this.hasAddress = `\${local.${host.friendlyUniqueId} != ""}`;
    this.port = port.asString;
    this.databaseName = database.dbName;
    this.username = account.accountName;
    this.allowedCidrs = [...config.allowedCidrs];
    this.connectionUrl = `postgres://${account.accountName}:${Fn.urlencode(config.password)}@${this.host}:${this.port}/${database.dbName}`;
  }
}
