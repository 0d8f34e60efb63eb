import type { Call } from "../../api.js";
import type { DatabaseState } from "../../network-booter.js";
import type { Store } from "../../store.js";

/**
 * An RDS instance as its records say, for a network booter that runs PostgreSQL for it
 * (harness/cloud/rds-server.ts): the private endpoint, the accounts, the databases and the
 * entries of every allowlist associated with it. Passwords are not records: CreateDBAccount and
 * ResetDBAccount hand them to the booter on their own (announcePassword).
 */
export function databaseStateOf(store: Store, instanceId: string): DatabaseState | undefined {
  const r = store.get("rds-pg-instance", instanceId);
  if (!r || r.fields.Status === "Deleting") return undefined;
  const endpoint = ((r.fields.Endpoints ?? []) as { Address: Record<string, unknown>[] }[])[0]?.Address ?? [];
  const address = endpoint.find((a) => a.NetworkType === "Private") ?? endpoint[0] ?? {};
  const subnet = store.get("subnet", String(r.fields.SubnetId));
  return {
    vpcId: String(r.fields.VpcId),
    subnetCidr: String(subnet?.fields.CidrBlock ?? ""),
    domain: String(address.Domain ?? ""),
    address: String(address.IPAddress ?? ""),
    port: Number(address.Port ?? 5432),
    status: String(r.fields.Status),
    accounts: store
      .all("rds-pg-account")
      .filter((a) => a.fields.InstanceId === r.id)
      .map((a) => ({
        name: String(a.fields.AccountName),
        type: String(a.fields.AccountType),
        privileges: String(a.fields.AccountPrivileges),
      })),
    databases: store
      .all("rds-pg-database")
      .filter((d) => d.fields.InstanceId === r.id)
      .map((d) => ({ name: String(d.fields.DBName), owner: String(d.fields.Owner) })),
    allowList: [
      ...new Set(
        store
          .all("rds-pg-allowlist")
          .filter((a) => (a.fields.AssociatedInstanceIds as string[]).includes(r.id))
          .flatMap((a) => a.fields.Entries as string[]),
      ),
    ],
  };
}

/** Tells the network booter what the instance is now (undefined once it is being deleted). */
export function announceDatabase(call: Call, instanceId: string): void {
  call.network?.database(instanceId, databaseStateOf(call.store, instanceId));
}

export function announcePassword(call: Call, instanceId: string, account: string, password: string): void {
  call.network?.databasePassword(instanceId, account, password);
}
