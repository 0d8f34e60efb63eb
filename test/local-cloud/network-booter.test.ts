import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseState, LoadBalancerForwarding, NetworkBooter } from "../../local-cloud/network-booter.js";
import { startLocalCloud, type LocalCloud } from "../../local-cloud/server.js";
import { openApi, openApiJson, until } from "./client.js";

/**
 * What the stand-in tells a network booter (local-cloud/network-booter.ts) at each call that changes
 * NAT egress, CLB forwarding or an RDS instance: the whole state as the records say it now. The
 * harness builds it as root (harness/cloud/vpc-networks.ts: nftables, HAProxy, PostgreSQL); here a
 * recording booter shows what it is asked to build.
 */
const egress: [string, string[]][] = [];
const vpcsDeleted: string[] = [];
const forwarding: [string, LoadBalancerForwarding | undefined][] = [];
const databases: [string, DatabaseState | undefined][] = [];
const passwords: string[] = [];
const network: NetworkBooter = {
  egress: (vpc, cidrs) => void egress.push([vpc, cidrs]),
  vpcDeleted: (vpc) => void vpcsDeleted.push(vpc),
  loadBalancer: (id, fw) => void forwarding.push([id, fw && structuredClone(fw)]),
  database: (id, state) => void databases.push([id, state && structuredClone(state)]),
  databasePassword: (id, account, password) => void passwords.push(`${id} ${account} ${password}`),
};

let cloud: LocalCloud;
let vpcId: string;
const subnets: string[] = [];
let sg: string;
beforeAll(async () => {
  cloud = await startLocalCloud({ transitionMs: 20, network });
  vpcId = (await vpc("CreateVpc", { CidrBlock: "172.16.0.0/16" })).body.Result.VpcId;
  for (const [zone, cidr] of [
    ["cn-beijing-a", "172.16.1.0/24"],
    ["cn-beijing-b", "172.16.2.0/24"],
    ["cn-beijing-a", "172.16.3.0/24"],
  ])
    subnets.push((await vpc("CreateSubnet", { VpcId: vpcId, ZoneId: zone, CidrBlock: cidr })).body.Result.SubnetId);
  sg = (await vpc("CreateSecurityGroup", { VpcId: vpcId })).body.Result.SecurityGroupId;
  await settle();
});
afterAll(() => cloud.close());

const vpc = (action: string, p: Record<string, unknown> = {}) => openApi(cloud.url, "vpc", action, p);
const ecs = (action: string, p: Record<string, unknown> = {}) => openApi(cloud.url, "ecs", action, p);
const clb = (action: string, p: Record<string, unknown> = {}) => openApi(cloud.url, "clb", action, p);
const nat = (action: string, p: Record<string, unknown> = {}) => openApi(cloud.url, "natgateway", action, p);
const rds = (action: string, p: Record<string, unknown> = {}) =>
  openApiJson(cloud.url, "rds_postgresql", action, p, { version: "2022-01-01" });
const settle = () => new Promise((r) => setTimeout(r, 40));
const last = <T>(list: [string, T][]) => list[list.length - 1]![1];

describe("local cloud: what the network booter is told", () => {
  it("NAT: the SNAT entries' subnets have a way out, from CreateSnatEntry until DeleteSnatEntry", async () => {
    const ngw = (await nat("CreateNatGateway", { VpcId: vpcId, SubnetId: subnets[2] })).body.Result.NatGatewayId;
    const eip = (await vpc("AllocateEipAddress", { BillingType: 3, Bandwidth: 5 })).body.Result.AllocationId;
    await settle();
    await vpc("AssociateEipAddress", { AllocationId: eip, InstanceId: ngw, InstanceType: "Nat" });
    await settle();
    const first = (await nat("CreateSnatEntry", { NatGatewayId: ngw, EipId: eip, SubnetId: subnets[0] })).body.Result
      .SnatEntryId;
    expect(egress).toEqual([[vpcId, ["172.16.1.0/24"]]]);
    await nat("CreateSnatEntry", { NatGatewayId: ngw, EipId: eip, SourceCidr: "172.16.2.0/25" });
    expect(last(egress)).toEqual(["172.16.1.0/24", "172.16.2.0/25"]);
    await settle();
    await nat("DeleteSnatEntry", { SnatEntryId: first });
    expect(last(egress)).toEqual(["172.16.2.0/25"]);
    // A refused call tells the booter nothing.
    const before = egress.length;
    expect((await nat("CreateSnatEntry", { NatGatewayId: ngw, EipId: eip, SourceCidr: "172.16.2.0/26" })).status).toBe(
      409,
    );
    expect(egress.length).toBe(before);
  });

  it("CLB: its address, the listener's port, scheduler and health check, the group's members as they come and go", async () => {
    const image = (await ecs("DescribeImages", { Platform: "Debian" })).body.Result.Images[0].ImageId;
    await ecs("ImportKeyPair", {
      KeyPairName: "k",
      PublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTests x",
    });
    const server = async () =>
      (
        await ecs("RunInstances", {
          ImageId: image,
          InstanceType: "ecs.c3i.large",
          ZoneId: "cn-beijing-a",
          KeyPairName: "k",
          NetworkInterfaces: [{ SubnetId: subnets[0], SecurityGroupIds: [sg] }],
          Volumes: [{ VolumeType: "ESSD_PL0", Size: 40 }],
        })
      ).body.Result.InstanceIds[0] as string;
    const [a, b] = [await server(), await server()];
    const ip = async (id: string) =>
      (await ecs("DescribeInstances", { InstanceIds: [id] })).body.Result.Instances[0].NetworkInterfaces[0]
        .PrimaryIpAddress as string;

    const id = (
      await clb("CreateLoadBalancer", {
        Type: "public",
        LoadBalancerSpec: "small_1",
        SubnetId: subnets[2],
        EipBillingConfig: { EipBillingType: 3, Bandwidth: 5, ISP: "BGP" },
      })
    ).body.Result.LoadBalancerId;
    const address = (await clb("DescribeLoadBalancers", { LoadBalancerIds: [id] })).body.Result.LoadBalancers[0]
      .EipAddress;
    expect(forwarding).toEqual([[id, { vpcId, type: "public", address, listeners: [] }]]);
    await until(
      () => clb("DescribeLoadBalancers", { LoadBalancerIds: [id] }),
      (r) => r.body.Result.LoadBalancers[0].Status === "Active",
    );
    const group = (await clb("CreateServerGroup", { LoadBalancerId: id })).body.Result.ServerGroupId;
    await settle();
    const listener = (
      await clb("CreateListener", {
        LoadBalancerId: id,
        Protocol: "HTTP",
        Port: 80,
        Scheduler: "wlc",
        ServerGroupId: group,
        HealthCheck: {
          Enabled: "on",
          Method: "GET",
          URI: "/readyz",
          HttpCode: "http_2xx",
          Interval: 2,
          Timeout: 2,
          HealthyThreshold: 2,
          UnhealthyThreshold: 3,
        },
      })
    ).body.Result.ListenerId;
    expect(last(forwarding)?.listeners).toEqual([
      {
        listenerId: listener,
        protocol: "HTTP",
        port: 80,
        enabled: "on",
        scheduler: "wlc",
        healthCheck: {
          enabled: "on",
          method: "GET",
          uri: "/readyz",
          httpCode: "http_2xx",
          interval: 2,
          timeout: 2,
          healthyThreshold: 2,
          unhealthyThreshold: 3,
        },
        servers: [],
      },
    ]);
    await settle();
    await clb("AddServerGroupBackendServers", {
      ServerGroupId: group,
      Servers: [{ InstanceId: a, Type: "ecs", Port: 80, Weight: 100 }],
    });
    await settle();
    const added = await clb("AddServerGroupBackendServers", {
      ServerGroupId: group,
      Servers: [{ InstanceId: b, Type: "ecs", Port: 80, Weight: 50 }],
    });
    expect(last(forwarding)?.listeners[0]?.servers).toEqual([
      { instanceId: a, ip: await ip(a), port: 80, weight: 100 },
      { instanceId: b, ip: await ip(b), port: 80, weight: 50 },
    ]);
    await settle();
    await clb("RemoveServerGroupBackendServers", { ServerGroupId: group, ServerIds: added.body.Result.ServerIds });
    expect(last(forwarding)?.listeners[0]?.servers.map((s) => s.instanceId)).toEqual([a]);
    await settle();
    await clb("ModifyListenerAttributes", { ListenerId: listener, HealthCheck: { URI: "/healthz" } });
    expect(last(forwarding)?.listeners[0]?.healthCheck).toMatchObject({ uri: "/healthz", unhealthyThreshold: 3 });
    await settle();
    await clb("DeleteListener", { ListenerId: listener });
    expect(last(forwarding)?.listeners).toEqual([]);
    await settle();
    await clb("DeleteServerGroup", { ServerGroupId: group });
    await settle();
    await clb("DeleteLoadBalancer", { LoadBalancerId: id });
    expect(forwarding.at(-1)).toEqual([id, undefined]);
  });

  it("RDS: the endpoint, accounts with their passwords, databases and the associated allowlists; nothing once deleted", async () => {
    const id = (
      await rds("CreateDBInstance", {
        DBEngineVersion: "PostgreSQL_16",
        StorageSpace: 20,
        VpcId: vpcId,
        SubnetId: subnets[0],
        ChargeInfo: { ChargeType: "PostPaid" },
        NodeInfo: [
          { NodeType: "Primary", ZoneId: "cn-beijing-a", NodeSpec: "rds.postgres.1c2g" },
          { NodeType: "Secondary", ZoneId: "cn-beijing-b", NodeSpec: "rds.postgres.1c2g" },
        ],
      })
    ).body.Result.InstanceId;
    const detail = () => rds("DescribeDBInstanceDetail", { InstanceId: id });
    const endpoint = (await detail()).body.Result.Endpoints[0].Address[0];
    expect(databases).toEqual([
      [
        id,
        {
          vpcId,
          subnetCidr: "172.16.1.0/24",
          domain: endpoint.Domain,
          address: endpoint.IPAddress,
          port: 5432,
          status: "Creating",
          accounts: [],
          databases: [],
          allowList: [],
        },
      ],
    ]);
    await until(detail, (r) => r.body.Result.BasicInfo.InstanceStatus === "Running");
    const list = (await rds("CreateAllowList", { AllowListName: "app", AllowList: "172.16.1.0/24,172.16.2.0/24" })).body
      .Result.AllowListId;
    await rds("AssociateAllowList", { InstanceIds: [id], AllowListIds: [list] });
    expect(last(databases)?.allowList).toEqual(["172.16.1.0/24", "172.16.2.0/24"]);
    await until(detail, (r) => r.body.Result.BasicInfo.InstanceStatus === "Running");
    const account = {
      InstanceId: id,
      AccountName: "todo_app",
      AccountPassword: "Aa1!account",
      AccountType: "Normal",
      AccountPrivileges: "Login,Inherit",
    };
    await rds("CreateDBAccount", account);
    expect(passwords).toEqual([`${id} todo_app Aa1!account`]);
    expect(last(databases)?.accounts).toEqual([{ name: "todo_app", type: "Normal", privileges: "Login,Inherit" }]);
    // The password is the booter's alone: no record or answer holds it.
    expect(JSON.stringify(cloud.store.snapshot())).not.toContain("Aa1!account");
    await rds("CreateDatabase", { InstanceId: id, DBName: "todo", Owner: "todo_app" });
    expect(last(databases)?.databases).toEqual([{ name: "todo", owner: "todo_app" }]);
    await rds("ResetDBAccount", { InstanceId: id, AccountName: "todo_app", AccountPassword: "Bb2!account" });
    expect(passwords.at(-1)).toBe(`${id} todo_app Bb2!account`);
    await rds("ModifyAllowList", { AllowListId: list, AllowList: "172.16.1.0/24" });
    expect(last(databases)?.allowList).toEqual(["172.16.1.0/24"]);
    await rds("DeleteDatabase", { InstanceId: id, DBName: "todo" });
    await rds("DeleteDBAccount", { InstanceId: id, AccountName: "todo_app" });
    expect(last(databases)).toMatchObject({ accounts: [], databases: [] });
    await rds("DisassociateAllowList", { InstanceIds: [id], AllowListIds: [list] });
    expect(last(databases)?.allowList).toEqual([]);
    await until(detail, (r) => r.body.Result.BasicInfo.InstanceStatus === "Running");
    await rds("DeleteDBInstance", { InstanceId: id });
    expect(databases.at(-1)).toEqual([id, undefined]);
  });

  it("VPC: its network goes with DeleteVpc, not while a subnet is left in it", async () => {
    const other = (await vpc("CreateVpc", { CidrBlock: "10.0.0.0/16" })).body.Result.VpcId;
    const subnet = (await vpc("CreateSubnet", { VpcId: other, ZoneId: "cn-beijing-a", CidrBlock: "10.0.1.0/24" })).body
      .Result.SubnetId;
    await settle();
    expect((await vpc("DeleteVpc", { VpcId: other })).status).toBe(409);
    expect(vpcsDeleted).toEqual([]);
    await vpc("DeleteSubnet", { SubnetId: subnet });
    await settle();
    expect((await vpc("DeleteVpc", { VpcId: other })).status).toBe(200);
    expect(vpcsDeleted).toEqual([other]);
  });
});
