import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalCloud, type LocalCloud } from "../../local-cloud/server.js";
import { openApi, until } from "./client.js";

let cloud: LocalCloud;
/** Set to hold the stand-in's clock still (a loaded machine can take longer than a transition between two calls). */
let frozenAt: number | undefined;
beforeAll(async () => {
  cloud = await startLocalCloud({ transitionMs: 100, now: () => frozenAt ?? Date.now() });
});
afterAll(() => cloud.close());

const vpc = (action: string, params: Record<string, unknown> = {}) => openApi(cloud.url, "vpc", action, params);

describe("local cloud: signature and envelope", () => {
  it("refuses a request without Authorization in Volcengine's error envelope", async () => {
    const r = await openApi(cloud.url, "vpc", "DescribeVpcs", {}, { authorization: null });
    expect(r.status).toBe(401);
    expect(r.body.ResponseMetadata.Error.Code).toBe("MissingAuthenticationToken");
    expect(r.body.ResponseMetadata).toMatchObject({ Action: "DescribeVpcs", Version: "2020-04-01" });
    expect(r.body.ResponseMetadata.RequestId).toMatch(/^[0-9A-F]{32}$/);
  });

  it("refuses a malformed signature", async () => {
    const r = await openApi(
      cloud.url,
      "vpc",
      "DescribeVpcs",
      {},
      { authorization: "HMAC-SHA256 Credential=AK/x, Signature=zz" },
    );
    expect(r.status).toBe(401);
    expect(r.body.ResponseMetadata.Error.Code).toBe("InvalidAuthorization");
  });

  it("answers with ResponseMetadata naming the service and region from the credential scope, and a Result", async () => {
    const r = await vpc("DescribeVpcs");
    expect(r.status).toBe(200);
    expect(r.body.ResponseMetadata).toMatchObject({
      Action: "DescribeVpcs",
      Version: "2020-04-01",
      Service: "vpc",
      Region: "cn-beijing",
    });
    expect(r.body.Result).toMatchObject({ Vpcs: [], TotalCount: 0 });
  });

  it("refuses an action the service does not have", async () => {
    const r = await vpc("CreateTeleporter");
    expect(r.status).toBe(404);
    expect(r.body.ResponseMetadata.Error.Code).toBe("InvalidActionOrVersion");
  });
});

describe("local cloud: VPC, subnet, security group", () => {
  it("moves a new VPC from Creating to Available", async () => {
    frozenAt = Date.now();
    const created = await vpc("CreateVpc", { CidrBlock: "10.0.0.0/16", VpcName: "v1" });
    const id = created.body.Result.VpcId;
    const first = await vpc("DescribeVpcs", { VpcIds: [id] });
    frozenAt = undefined;
    expect(first.body.Result.Vpcs[0].Status).toBe("Creating");
    const later = await until(
      () => vpc("DescribeVpcs", { VpcIds: [id] }),
      (r) => r.body.Result.Vpcs[0].Status === "Available",
    );
    expect(later.body.Result.Vpcs[0]).toMatchObject({ VpcId: id, CidrBlock: "10.0.0.0/16", VpcName: "v1" });
  });

  it("refuses a description with characters outside the documented set", async () => {
    const r = await vpc("CreateVpc", { CidrBlock: "10.1.0.0/16", Description: "Todo API network (todo-api-dev)" });
    expect(r.status).toBe(400);
    expect(r.body.ResponseMetadata.Error.Code).toBe("InvalidParameter.Description.Malformed");
    expect(r.body.ResponseMetadata.Error.Message).toContain('"()"');
    const ok = await vpc("CreateVpc", { CidrBlock: "10.1.0.0/16", Description: "Todo API network, todo-api-dev" });
    expect(ok.status).toBe(200);
  });

  it("requires CidrBlock", async () => {
    const r = await vpc("CreateVpc", { VpcName: "x" });
    expect(r.status).toBe(400);
    expect(r.body.ResponseMetadata.Error.Code).toBe("MissingParameter");
  });

  it("keeps subnets inside the VPC and refuses to delete a VPC that still has one", async () => {
    const id = (await vpc("CreateVpc", { CidrBlock: "10.2.0.0/16" })).body.Result.VpcId;
    const outside = await vpc("CreateSubnet", { VpcId: id, ZoneId: "cn-beijing-a", CidrBlock: "10.3.0.0/24" });
    expect(outside.body.ResponseMetadata.Error.Code).toBe("InvalidSubnet.CidrBlock");
    const subnet = await vpc("CreateSubnet", { VpcId: id, ZoneId: "cn-beijing-a", CidrBlock: "10.2.1.0/24" });
    expect(subnet.status).toBe(200);
    const del = await vpc("DeleteVpc", { VpcId: id });
    expect(del.status).toBe(409);
    expect(del.body.ResponseMetadata.Error.Code).toBe("DependencyViolation.Vpc");
  });

  it("adds a rule once, refuses the same rule twice, and revokes it", async () => {
    const vpcId = (await vpc("CreateVpc", { CidrBlock: "10.4.0.0/16" })).body.Result.VpcId;
    const sg = (await vpc("CreateSecurityGroup", { VpcId: vpcId })).body.Result.SecurityGroupId;
    const rule = {
      SecurityGroupId: sg,
      Protocol: "tcp",
      PortStart: 22,
      PortEnd: 22,
      CidrIp: "198.51.100.7/32",
      Policy: "accept",
      Priority: 1,
    };
    expect((await vpc("AuthorizeSecurityGroupIngress", rule)).status).toBe(200);
    const again = await vpc("AuthorizeSecurityGroupIngress", rule);
    expect(again.body.ResponseMetadata.Error.Code).toBe("InvalidSecurityRule.Conflict");
    const attrs = await vpc("DescribeSecurityGroupAttributes", { SecurityGroupId: sg });
    expect(attrs.body.Result.Permissions).toEqual([
      expect.objectContaining({ Direction: "ingress", PortStart: 22, PortEnd: 22, CidrIp: "198.51.100.7/32" }),
    ]);
    expect((await vpc("RevokeSecurityGroupIngress", rule)).status).toBe(200);
    expect((await vpc("DescribeSecurityGroupAttributes", { SecurityGroupId: sg })).body.Result.Permissions).toEqual([]);
  });

  it("refuses port ranges that do not fit the protocol", async () => {
    const vpcId = (await vpc("CreateVpc", { CidrBlock: "10.5.0.0/16" })).body.Result.VpcId;
    const sg = (await vpc("CreateSecurityGroup", { VpcId: vpcId })).body.Result.SecurityGroupId;
    const r = await vpc("AuthorizeSecurityGroupEgress", {
      SecurityGroupId: sg,
      Protocol: "all",
      PortStart: 1,
      PortEnd: 65535,
      CidrIp: "0.0.0.0/0",
    });
    expect(r.status).toBe(400);
    expect(r.body.ResponseMetadata.Error.Code).toBe("InvalidParameter");
  });
});
