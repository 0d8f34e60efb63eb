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

export interface PostgresDatabaseProps {
  /** Prefix of every resource name, e.g. "todo-api-dev" (`<project>-<environment>`). */
  readonly name: string;
  /** "PostgreSQL_16" and the like (ForceNew). */
  readonly engineVersion: string;
  /** Node spec, e.g. "rds.postgres.1c2g" (in place). */
  readonly nodeSpec: string;
  /** Storage in GB (in place). */
  readonly storageGb: number;
  /** Zone of the primary node (ForceNew). */
  readonly primaryZone: string;
  /** Zone of the standby node (the provider refuses any later change). */
  readonly secondaryZone: string;
  /** Subnet of the instance (ForceNew: a replaced subnet replaces the database). */
  readonly subnetId: string;
  /** The only networks allowed to connect: the app servers' subnet(s). */
  readonly allowedCidrs: readonly string[];
  /** Name of the app's database. */
  readonly databaseName: string;
  /** The app's account. */
  readonly username: string;
  /** Reference to a sensitive Terraform variable; never a literal. */
  readonly password: string;
  /**
   * Checked when the account is planned (e.g. "the password variable is set"); not on destroy.
   * @default - none
   */
  readonly passwordPreconditions?: readonly { readonly condition: string; readonly errorMessage: string }[];
  /** Tags put on every taggable resource (the stack adds managed-by, app and environment). */
  readonly tags: Readonly<Record<string, string>>;
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

  constructor(scope: Construct, id: string, props: PostgresDatabaseProps) {
    super(scope, id);
    const instance = new RdsPostgresqlInstance(this, "instance", {
      instanceName: `${props.name}-pg`,
      dbEngineVersion: props.engineVersion,
      nodeSpec: props.nodeSpec,
      storageSpace: props.storageGb,
      primaryZoneId: props.primaryZone,
      secondaryZoneId: props.secondaryZone,
      subnetId: props.subnetId,
      chargeInfo: { chargeType: "PostPaid" },
      tags: tagBlocks(props.tags),
    });
    const allowlist = new RdsPostgresqlAllowlist(this, "allowlist", {
      allowListName: `${props.name}-app-subnet`,
      allowListDesc: apiDescription(
        props.allowedCidrs.length === 1
          ? "Only the subnet of the Todo API server"
          : "Only the subnets of the Todo API servers",
      ),
      allowListType: "IPv4",
      allowList: [...props.allowedCidrs],
    });
    this.reachable = new RdsPostgresqlAllowlistAssociate(this, "allowlist-association", {
      allowListId: allowlist.id,
      instanceId: instance.id,
    });

    const account = new RdsPostgresqlAccount(this, "account", {
      instanceId: instance.id,
      accountName: props.username,
      accountPassword: props.password,
      accountType: "Normal",
      // What the provider's own example sets for a Normal account, and what RDS grants when the
      // field is left out. Without it, `account_privileges` (Optional, not Computed) reads back as
      // "Login,Inherit" and every later plan shows a change whose apply calls
      // RevokeDBAccountPrivilege on the app's account.
      accountPrivileges: RDS_APP_ACCOUNT_PRIVILEGES,
      lifecycle: props.passwordPreconditions?.length ? { precondition: [...props.passwordPreconditions] } : undefined,
      // Associating the allowlist puts the instance in AllowListMaintaining, and RDS refuses
      // account and database changes until it is Running again. The provider waits for Running
      // after the association, not before CreateDBAccount: without this order the two run in
      // parallel and the first deploy fails at random (caught by the local cloud, cluster run).
      dependsOn: [this.reachable],
    });
    const database = new RdsPostgresqlDatabase(this, "database", {
      instanceId: instance.id,
      dbName: props.databaseName,
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
    this.allowedCidrs = [...props.allowedCidrs];
    this.connectionUrl = `postgres://${account.accountName}:${Fn.urlencode(props.password)}@${this.host}:${this.port}/${database.dbName}`;
  }
}
