import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalCloud, type LocalCloud } from "../../local-cloud/server.js";
import { openApi, openApiJson } from "./client.js";

/** CloudMonitor, RDS for PostgreSQL, CLB and NAT: states the provider polls for, and the rules that matter. */
let cloud: LocalCloud;
/** The stand-in's clock, moved by hand: states change exactly when a test says so, however slow the machine. */
let clock = Date.now();
/** Lets every pending transition (100 ms) complete, then reads; the caller checks the state it expects. */
const until = async <T>(read: () => Promise<T>, _done: (x: T) => boolean): Promise<T> => {
  clock += 101;
  return read();
};
let vpcId: string;
let subnetId: string;
beforeAll(async () => {
  cloud = await startLocalCloud({ transitionMs: 100, now: () => clock });
  clock += 101;
  vpcId = (await openApi(cloud.url, "vpc", "CreateVpc", { CidrBlock: "172.16.0.0/16" })).body.Result.VpcId;
  clock += 101;
  subnetId = (
    await openApi(cloud.url, "vpc", "CreateSubnet", {
      VpcId: vpcId,
      ZoneId: "cn-beijing-a",
      CidrBlock: "172.16.1.0/24",
    })
  ).body.Result.SubnetId;
  clock += 101;
});
afterAll(() => cloud.close());

const cm = (action: string, params: Record<string, unknown>) =>
  openApiJson(cloud.url, "Volc_Observe", action, params, { version: "2018-01-01" });
const rds = (action: string, params: Record<string, unknown>) =>
  openApiJson(cloud.url, "rds_postgresql", action, params);
const clb = (action: string, params: Record<string, unknown> = {}) => openApi(cloud.url, "clb", action, params);
const nat = (action: string, params: Record<string, unknown> = {}) => openApi(cloud.url, "natgateway", action, params);
const code = (r: { body: any }) => r.body.ResponseMetadata.Error?.Code;

const RULE = {
  RuleName: "todo-cpu",
  Namespace: "VCM_ECS",
  SubNamespace: "Instance",
  Level: "warning",
  EnableState: "enable",
  EvaluationCount: 5,
  EffectStartAt: "00:00",
  EffectEndAt: "23:59",
  SilenceTime: 30,
  AlertMethods: ["Email"],
  Regions: ["cn-beijing"],
  RuleType: "static",
  Conditions: [
    { MetricName: "CpuTotal", MetricUnit: "Percent", Statistics: "avg", ComparisonOperator: ">", Threshold: "80" },
  ],
  OriginalDimensions: { ResourceID: ["i-1"] },
};

describe("local cloud: security group rules read back by their filters", () => {
  it("answers DescribeSecurityGroupAttributes filtered by Protocol and CidrIp (two admin CIDRs on port 22 stay apart)", async () => {
    const sg = (await openApi(cloud.url, "vpc", "CreateSecurityGroup", { VpcId: vpcId })).body.Result.SecurityGroupId;
    clock += 101;
    for (const cidr of ["198.18.255.1/32", "198.18.255.2/32"]) {
      await openApi(cloud.url, "vpc", "AuthorizeSecurityGroupIngress", {
        SecurityGroupId: sg,
        Protocol: "tcp",
        PortStart: 22,
        PortEnd: 22,
        CidrIp: cidr,
        Policy: "accept",
        Priority: 1,
      });
    }
    const read = await openApi(cloud.url, "vpc", "DescribeSecurityGroupAttributes", {
      SecurityGroupId: sg,
      Direction: "ingress",
      Protocol: "tcp",
      CidrIp: "198.18.255.2/32",
    });
    expect(read.body.Result.Permissions.map((p: { CidrIp: string }) => p.CidrIp)).toEqual(["198.18.255.2/32"]);
  });
});

describe("local cloud: CloudMonitor", () => {
  it("contact → group → rule; the rule reads back as written; a group in use by a rule cannot be deleted", async () => {
    expect(code(await cm("CreateContacts", { Name: "oncall", Email: "not-an-address" }))).toBe("InvalidParameter");
    const [contact] = (await cm("CreateContacts", { Name: "oncall", Email: "ops@example.com" })).body.Result.Data;
    const [group] = (await cm("CreateContactGroup", { Name: "alerts", ContactsIdList: [contact] })).body.Result.Data;
    const groups = (await cm("ListContactGroups", {})).body.Result.Data;
    expect(groups[0]).toMatchObject({
      Id: group,
      Name: "alerts",
      Contacts: [{ Id: contact, Email: "ops@example.com" }],
    });
    expect(code(await cm("CreateRule", { ...RULE, ContactGroupIds: ["19000"] }))).toBe("InvalidParameter.NotFound");
    expect(code(await cm("CreateRule", { ...RULE, Level: "urgent", ContactGroupIds: [group] }))).toBe(
      "InvalidParameter",
    );
    const [rule] = (await cm("CreateRule", { ...RULE, ContactGroupIds: [group] })).body.Result.Data;
    const read = (await cm("ListRulesByIds", { Ids: [rule] })).body.Result.Data;
    expect(read).toEqual([expect.objectContaining({ ...RULE, Id: rule, ContactGroupIds: [group] })]);
    expect(code(await cm("DeleteContactGroupByIds", { Ids: [group] }))).toBe("OperationDenied.ContactGroupInUse");
    // Tags: the provider calls TagResources after every UpdateRule.
    expect(
      code(
        await cm("TagResources", { ResourceType: "rule", ResourceIds: ["19000"], Tags: [{ Key: "a", Value: "b" }] }),
      ),
    ).toBe("InvalidParameter.NotFound");
    expect(code(await cm("TagResources", { ResourceType: "dashboard", ResourceIds: [rule], Tags: [] }))).toBe(
      "InvalidParameter",
    );
    expect(
      (
        await cm("TagResources", {
          ResourceType: "rule",
          ResourceIds: [rule],
          Tags: [
            { Key: "env", Value: "dev" },
            { Key: "app", Value: "todo" },
          ],
        })
      ).status,
    ).toBe(200);
    await cm("TagResources", { ResourceType: "rule", ResourceIds: [rule], Tags: [{ Key: "env", Value: "prod" }] });
    await cm("UntagResources", { ResourceType: "rule", ResourceIds: [rule], TagKeys: ["app"] });
    expect((await cm("ListRulesByIds", { Ids: [rule] })).body.Result.Data[0].Tags).toEqual([
      { Key: "env", Value: "prod" },
    ]);
    await cm("DeleteRulesByIds", { Ids: [rule] });
    expect((await cm("ListRulesByIds", { Ids: [rule] })).body.Result.Data).toEqual([]);
    expect((await cm("DeleteContactGroupByIds", { Ids: [group] })).status).toBe(200);
  });
});

describe("local cloud: RDS for PostgreSQL", () => {
  const instance = () => ({
    DBEngineVersion: "PostgreSQL_16",
    StorageSpace: 20,
    VpcId: vpcId,
    SubnetId: subnetId,
    InstanceName: "todo-pg",
    ChargeInfo: { ChargeType: "PostPaid" },
    NodeInfo: [
      { NodeType: "Primary", ZoneId: "cn-beijing-a", NodeSpec: "rds.postgres.1c2g", NodeOperateType: "Create" },
      { NodeType: "Secondary", ZoneId: "cn-beijing-b", NodeSpec: "rds.postgres.1c2g", NodeOperateType: "Create" },
    ],
  });

  it("Creating → Running with a private endpoint on 5432; database, account and allowlist rules", async () => {
    expect(code(await rds("CreateDBInstance", { ...instance(), StorageSpace: 25 }))).toBe("InvalidParameter");
    const id = (await rds("CreateDBInstance", instance())).body.Result.InstanceId;
    const detail = () => rds("DescribeDBInstanceDetail", { InstanceId: id });
    expect((await detail()).body.Result.BasicInfo.InstanceStatus).toBe("Creating");
    expect(
      code(
        await rds("CreateDBAccount", {
          InstanceId: id,
          AccountName: "todo_app",
          AccountPassword: "Aa1!aaaaaa",
          AccountType: "Normal",
        }),
      ),
    ).toBe("OperationDenied.InstanceStatus");
    const running = await until(detail, (r) => r.body.Result.BasicInfo.InstanceStatus === "Running");
    expect(running.body.Result.Endpoints[0].Address[0]).toMatchObject({
      NetworkType: "Private",
      Domain: `${id}.rds-pg.ivolces.com`,
      Port: "5432",
    });

    expect(
      code(
        await rds("CreateDBAccount", {
          InstanceId: id,
          AccountName: "todo_app",
          AccountPassword: "short",
          AccountType: "Normal",
        }),
      ),
    ).toBe("InvalidParameter");
    expect(
      code(
        await rds("CreateDBAccount", {
          InstanceId: id,
          AccountName: "postgres",
          AccountPassword: "Aa1!aaaaaa",
          AccountType: "Normal",
        }),
      ),
    ).toBe("InvalidParameter");
    await rds("CreateDBAccount", {
      InstanceId: id,
      AccountName: "todo_app",
      AccountPassword: "Aa1!aaaaaa",
      AccountType: "Normal",
      AccountPrivileges: "Login,Inherit",
    });
    expect(code(await rds("CreateDatabase", { InstanceId: id, DBName: "todo", Owner: "nobody" }))).toBe(
      "InvalidAccountName.NotFound",
    );
    await rds("CreateDatabase", { InstanceId: id, DBName: "todo", Owner: "todo_app" });
    expect((await rds("DescribeDatabases", { InstanceId: id, DBName: "todo" })).body.Result.Databases).toEqual([
      expect.objectContaining({ DBName: "todo", Owner: "todo_app" }),
    ]);
    expect(code(await rds("DeleteDBAccount", { InstanceId: id, AccountName: "todo_app" }))).toBe(
      "OperationDenied.AccountOwnsDatabase",
    );

    const list = (
      await rds("CreateAllowList", { AllowListName: "app-subnet", AllowList: "172.16.1.0/24", AllowListType: "IPv4" })
    ).body.Result.AllowListId;
    expect(code(await rds("CreateAllowList", { AllowListName: "bad", AllowList: "172.16.1.0/33" }))).toBe(
      "InvalidParameter",
    );
    await rds("AssociateAllowList", { InstanceIds: [id], AllowListIds: [list] });
    // Associating puts the instance in AllowListMaintaining: an account change meanwhile is refused.
    expect((await detail()).body.Result.BasicInfo.InstanceStatus).toBe("AllowListMaintaining");
    expect(
      code(
        await rds("CreateDBAccount", {
          InstanceId: id,
          AccountName: "other",
          AccountPassword: "Aa1!aaaaaa",
          AccountType: "Normal",
        }),
      ),
    ).toBe("OperationDenied.InstanceStatus");
    await until(detail, (r) => r.body.Result.BasicInfo.InstanceStatus === "Running");
    expect((await rds("DescribeAllowListDetail", { AllowListId: list })).body.Result).toMatchObject({
      AllowList: "172.16.1.0/24",
      AssociatedInstances: [{ InstanceId: id }],
    });
    expect(code(await rds("DeleteAllowList", { AllowListId: list }))).toBe("OperationDenied.AllowListInUse");

    await rds("DeleteDBInstance", { InstanceId: id });
    await until(
      () => rds("DescribeDBInstances", { InstanceId: id }),
      (r) => r.body.Result.Instances.length === 0,
    );
    expect((await rds("DeleteAllowList", { AllowListId: list })).status).toBe(200);
  });
});

describe("local cloud: CLB and NAT", () => {
  it("load balancer → server group → listener; an in-use server group or certificate cannot be deleted; listeners first", async () => {
    const lb = (
      await clb("CreateLoadBalancer", {
        Type: "public",
        LoadBalancerSpec: "small_1",
        SubnetId: subnetId,
        LoadBalancerBillingType: 2,
        EipBillingConfig: { EipBillingType: 3, Bandwidth: 5, ISP: "BGP" },
      })
    ).body.Result.LoadBalancerId;
    expect(code(await clb("CreateServerGroup", { LoadBalancerId: lb }))).toBe("IncorrectStatus.LoadBalancer");
    await until(
      () => clb("DescribeLoadBalancers", { LoadBalancerIds: [lb] }),
      (r) => r.body.Result.LoadBalancers[0].Status === "Active",
    );
    const group = (await clb("CreateServerGroup", { LoadBalancerId: lb, ServerGroupName: "app" })).body.Result
      .ServerGroupId;
    await until(
      () => clb("DescribeLoadBalancers", { LoadBalancerIds: [lb] }),
      (r) => r.body.Result.LoadBalancers[0].Status === "Active",
    );
    const cert = (
      await clb("UploadCertificate", {
        PublicKey: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
        PrivateKey: "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----",
      })
    ).body.Result.CertificateId;
    expect(code(await clb("UploadCertificate", { PublicKey: "not pem", PrivateKey: "x" }))).toBe(
      "InvalidParameter.PublicKey",
    );
    const https = await clb("CreateListener", {
      LoadBalancerId: lb,
      Protocol: "HTTPS",
      Port: 443,
      ServerGroupId: group,
      CertificateId: cert,
      HealthCheck: { Enabled: "on", URI: "/readyz", UnhealthyThreshold: 2 },
    });
    const listener = https.body.Result.ListenerId;
    const described = (await clb("DescribeListeners", { ListenerIds: [listener] })).body.Result.Listeners[0];
    // The provider sends URI/UnhealthyThreshold and reads Uri/UnHealthyThreshold, as numbers where the API has numbers.
    expect(described).toMatchObject({ Port: 443, HealthCheck: { Uri: "/readyz", UnHealthyThreshold: 2 } });
    await until(
      () => clb("DescribeLoadBalancers", { LoadBalancerIds: [lb] }),
      (r) => r.body.Result.LoadBalancers[0].Status === "Active",
    );
    expect(
      code(await clb("CreateListener", { LoadBalancerId: lb, Protocol: "HTTP", Port: 443, ServerGroupId: group })),
    ).toBe("InvalidListener.PortConflict");
    expect(code(await clb("DeleteCertificate", { CertificateId: cert }))).toBe("InvalidOperation.CertificateInUse");
    expect(code(await clb("DeleteServerGroup", { ServerGroupId: group }))).toBe("InvalidOperation.ServerGroupInUse");
    expect(code(await clb("DeleteLoadBalancer", { LoadBalancerId: lb }))).toBe(
      "InvalidOperation.LoadBalancerHasListener",
    );
    await clb("DeleteListener", { ListenerId: listener });
    expect((await clb("DeleteCertificate", { CertificateId: cert })).status).toBe(200);
  });

  it("NAT gateway Creating → Available; an SNAT entry needs an EIP bound to the gateway; entries before the gateway", async () => {
    const gw = (await nat("CreateNatGateway", { VpcId: vpcId, SubnetId: subnetId, Spec: "Small", BillingType: 2 })).body
      .Result.NatGatewayId;
    await until(
      () => nat("DescribeNatGateways", { NatGatewayIds: [gw] }),
      (r) => r.body.Result.NatGateways[0].Status === "Available",
    );
    const eip = (await openApi(cloud.url, "vpc", "AllocateEipAddress", { BillingType: 3, Bandwidth: 5 })).body.Result
      .AllocationId;
    expect(code(await nat("CreateSnatEntry", { NatGatewayId: gw, EipId: eip, SubnetId: subnetId }))).toBe(
      "InvalidEipAddress.NotAssociated",
    );
    await until(
      () => openApi(cloud.url, "vpc", "DescribeEipAddresses", { AllocationIds: [eip] }),
      (r) => r.body.Result.EipAddresses[0].Status === "Available",
    );
    await openApi(cloud.url, "vpc", "AssociateEipAddress", { AllocationId: eip, InstanceId: gw, InstanceType: "Nat" });
    const entry = (await nat("CreateSnatEntry", { NatGatewayId: gw, EipId: eip, SubnetId: subnetId })).body.Result
      .SnatEntryId;
    expect(code(await nat("CreateSnatEntry", { NatGatewayId: gw, EipId: eip, SubnetId: subnetId }))).toBe(
      "InvalidSnatEntry.Conflict",
    );
    expect(code(await nat("DeleteNatGateway", { NatGatewayId: gw }))).toBe("DependencyViolation.SnatEntry");
    await nat("DeleteSnatEntry", { SnatEntryId: entry });
    await until(
      () => nat("DescribeSnatEntries", { SnatEntryIds: [entry] }),
      (r) => r.body.Result.SnatEntries.length === 0,
    );
    expect(code(await nat("DeleteNatGateway", { NatGatewayId: gw }))).toBe("DependencyViolation.EipAddress");
  });
});
