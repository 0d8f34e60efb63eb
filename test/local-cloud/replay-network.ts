import type { LoggedCall } from "../../local-cloud/call-log.js";
import type { NetworkBooter } from "../../local-cloud/network-booter.js";

/**
 * The network booter in a replay (replay.test.ts): what the stand-in told it, summed up per call,
 * and what the recorded calls imply it must be told, worked out from the recorded parameters
 * alone (not from the stand-in's records), in the same summary: NAT egress per SNAT change, the
 * CLB's listener ports and members per forwarding change, RDS's accounts, databases and allowlist
 * per change of the instance, and each account password as the replay sent it.
 */
export type NetworkCall = unknown[];

export function recordingNetwork(): { network: NetworkBooter; calls: NetworkCall[] } {
  const calls: NetworkCall[] = [];
  const network: NetworkBooter = {
    egress: (vpc, cidrs) => void calls.push(["egress", vpc, [...cidrs].sort()]),
    vpcDeleted: (vpc) => void calls.push(["vpcDeleted", vpc]),
    loadBalancer: (id, fw) =>
      void calls.push([
        "loadBalancer",
        id,
        fw?.listeners.map((l) => `${l.port}:${l.servers.map((s) => s.instanceId).join(",")}`),
      ]),
    database: (id, s) =>
      void calls.push([
        "database",
        id,
        s && {
          accounts: s.accounts.map((a) => a.name).sort(),
          databases: s.databases.map((d) => `${d.name}:${d.owner}`).sort(),
          allowList: [...s.allowList].sort(),
        },
      ]),
    databasePassword: (id, account, password) => void calls.push(["password", id, account, password]),
  };
  return { network, calls };
}

export function expectedNetworkCalls(recorded: LoggedCall[], fresh: (id: unknown) => string): NetworkCall[] {
  const subnets = new Map<string, string>();
  const natVpc = new Map<string, string>();
  const snat = new Map<string, { nat: string; cidr: string; deleting: boolean }>();
  const lbDeleting = new Set<string>();
  const listeners = new Map<string, { lb: string; port: number; group: string }>();
  const groups = new Map<string, { lb: string; servers: { id: string; instance: string }[] }>();
  const rdsDeleting = new Set<string>();
  const accounts = new Map<string, Set<string>>();
  const databases = new Map<string, Map<string, string>>();
  const lists = new Map<string, { entries: string[]; instances: Set<string> }>();
  const out: NetworkCall[] = [];

  const egress = (nat: string) => {
    const vpc = natVpc.get(nat)!;
    const cidrs = [...snat.values()]
      .filter((s) => !s.deleting && natVpc.get(s.nat) === vpc)
      .map((s) => s.cidr)
      .sort();
    out.push(["egress", fresh(vpc), cidrs]);
  };
  const forwarding = (lb: string) =>
    out.push([
      "loadBalancer",
      fresh(lb),
      [...listeners.values()]
        .filter((l) => l.lb === lb)
        .sort((a, b) => a.port - b.port)
        .map((l) => `${l.port}:${(groups.get(l.group)?.servers ?? []).map((s) => fresh(s.instance)).join(",")}`),
    ]);
  const database = (id: string) =>
    out.push([
      "database",
      fresh(id),
      {
        accounts: [...(accounts.get(id) ?? [])].sort(),
        databases: [...(databases.get(id) ?? new Map())].map(([n, o]) => `${n}:${o}`).sort(),
        allowList: [
          ...new Set([...lists.values()].filter((l) => l.instances.has(id)).flatMap((l) => l.entries)),
        ].sort(),
      },
    ]);
  const entries = (p: Record<string, any>) =>
    String(p.AllowList ?? "")
      .split(",")
      .map((x) => x.trim())
      .filter(Boolean);

  for (const c of recorded.filter((x) => x.protocol === "openapi" && x.status === 200)) {
    const p = c.params as Record<string, any>;
    const created = String(c.created ?? "");
    switch (c.action) {
      case "DeleteVpc":
        out.push(["vpcDeleted", fresh(p.VpcId)]);
        break;
      case "CreateSubnet":
        subnets.set(created, p.CidrBlock);
        break;
      case "CreateNatGateway":
        natVpc.set(created, p.VpcId);
        break;
      case "CreateSnatEntry":
        snat.set(created, { nat: p.NatGatewayId, cidr: p.SourceCidr ?? subnets.get(p.SubnetId)!, deleting: false });
        egress(p.NatGatewayId);
        break;
      case "DeleteSnatEntry": {
        const s = snat.get(p.SnatEntryId)!;
        if (s.deleting) break;
        s.deleting = true;
        egress(s.nat);
        break;
      }
      case "CreateLoadBalancer":
        forwarding(created);
        break;
      case "DeleteLoadBalancer":
        if (lbDeleting.has(p.LoadBalancerId)) break;
        lbDeleting.add(p.LoadBalancerId);
        out.push(["loadBalancer", fresh(p.LoadBalancerId), undefined]);
        break;
      case "CreateServerGroup":
        groups.set(created, { lb: p.LoadBalancerId, servers: [] });
        break;
      case "CreateListener":
        listeners.set(created, { lb: p.LoadBalancerId, port: Number(p.Port), group: p.ServerGroupId });
        forwarding(p.LoadBalancerId);
        break;
      case "ModifyListenerAttributes":
        forwarding(listeners.get(p.ListenerId)!.lb);
        break;
      case "DeleteListener": {
        const l = listeners.get(p.ListenerId)!;
        listeners.delete(p.ListenerId);
        forwarding(l.lb);
        break;
      }
      case "AddServerGroupBackendServers": {
        const g = groups.get(p.ServerGroupId)!;
        const ids = (c.result as { ServerIds: string[] }).ServerIds;
        for (const [i, s] of (p.Servers as Record<string, any>[]).entries())
          g.servers.push({ id: ids[i]!, instance: s.InstanceId });
        forwarding(g.lb);
        break;
      }
      case "RemoveServerGroupBackendServers": {
        const g = groups.get(p.ServerGroupId)!;
        const ids = ([] as string[]).concat(p.ServerIds);
        g.servers = g.servers.filter((s) => !ids.includes(s.id));
        forwarding(g.lb);
        break;
      }
      case "ModifyServerGroupAttributes":
        if (p.Servers) forwarding(groups.get(p.ServerGroupId)!.lb);
        break;
      case "CreateDBInstance":
        database(created);
        break;
      case "DeleteDBInstance":
        if (rdsDeleting.has(p.InstanceId)) break;
        rdsDeleting.add(p.InstanceId);
        for (const l of lists.values()) l.instances.delete(p.InstanceId);
        out.push(["database", fresh(p.InstanceId), undefined]);
        break;
      case "CreateDBAccount":
        if (!accounts.has(p.InstanceId)) accounts.set(p.InstanceId, new Set());
        accounts.get(p.InstanceId)!.add(p.AccountName);
        out.push(["password", fresh(p.InstanceId), p.AccountName, "Replay-1-password"]);
        database(p.InstanceId);
        break;
      case "ResetDBAccount":
        out.push(["password", fresh(p.InstanceId), p.AccountName, "Replay-1-password"]);
        break;
      case "ModifyDBAccountPrivilege":
        database(p.InstanceId);
        break;
      case "DeleteDBAccount":
        accounts.get(p.InstanceId)?.delete(p.AccountName);
        database(p.InstanceId);
        break;
      case "CreateDatabase":
      case "ModifyDatabaseOwner":
        if (!databases.has(p.InstanceId)) databases.set(p.InstanceId, new Map());
        databases.get(p.InstanceId)!.set(p.DBName, p.Owner ?? "postgres");
        database(p.InstanceId);
        break;
      case "DeleteDatabase":
        databases.get(p.InstanceId)?.delete(p.DBName);
        database(p.InstanceId);
        break;
      case "CreateAllowList":
        lists.set(created, { entries: entries(p), instances: new Set() });
        break;
      case "ModifyAllowList": {
        const l = lists.get(p.AllowListId)!;
        if (p.AllowList === undefined) break;
        l.entries = entries(p);
        for (const id of l.instances) database(id);
        break;
      }
      case "AssociateAllowList":
      case "DisassociateAllowList":
        for (const l of ([] as string[]).concat(p.AllowListIds)) {
          for (const id of ([] as string[]).concat(p.InstanceIds)) {
            if (c.action === "AssociateAllowList") lists.get(l)!.instances.add(id);
            else lists.get(l)!.instances.delete(id);
          }
        }
        for (const id of ([] as string[]).concat(p.InstanceIds)) database(id);
        break;
    }
  }
  return out;
}
