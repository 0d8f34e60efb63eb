import { afterEach, describe, expect, it } from "vitest";
import { ANSWER_VALUES, type Answers, DEFAULT_ANSWERS, parseAnswers } from "../../local-cloud/answers.js";
import { type LocalCloud, startLocalCloud } from "../../local-cloud/server.js";
import { openApi, openApiJson } from "./client.js";

/**
 * Each question the real API leaves open, asked of an emulator started with each answer: the
 * switch changes exactly the answer it names. The scenario (`npm run rehearse:cloud --
 * --answer-sets`) runs the stack under them.
 */
let cloud: LocalCloud;
let clock = Date.now();
/** The emulator's clock, moved past the 100 ms transitions by hand. */
const later = () => {
  clock += 101;
};
afterEach(() => cloud?.close());

async function start(answers: Partial<Answers>) {
  clock = Date.now();
  cloud = await startLocalCloud({ transitionMs: 100, now: () => clock, answers });
}
const call = (service: string, action: string, params: Record<string, unknown> = {}) =>
  openApi(cloud.url, service, action, params);
const code = (r: { body: any }) => r.body.ResponseMetadata.Error?.Code;

async function network() {
  const vpcId = (await call("vpc", "CreateVpc", { CidrBlock: "172.16.0.0/16" })).body.Result.VpcId;
  later();
  const subnetId = (
    await call("vpc", "CreateSubnet", { VpcId: vpcId, ZoneId: "cn-beijing-a", CidrBlock: "172.16.1.0/24" })
  ).body.Result.SubnetId;
  const sg = (await call("vpc", "CreateSecurityGroup", { VpcId: vpcId })).body.Result.SecurityGroupId;
  later();
  return { vpcId, subnetId, sg };
}

async function instance() {
  const { subnetId, sg } = await network();
  await call("ecs", "ImportKeyPair", {
    KeyPairName: "todo-key",
    PublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTests local",
  });
  const image = (await call("ecs", "DescribeImages", { Platform: "Debian" })).body.Result.Images[0].ImageId;
  const id = (
    await call("ecs", "RunInstances", {
      ImageId: image,
      InstanceType: "ecs.c3i.large",
      ZoneId: "cn-beijing-a",
      KeyPairName: "todo-key",
      UserData: Buffer.from("#cloud-config\n").toString("base64"),
      NetworkInterfaces: [{ SubnetId: subnetId, SecurityGroupIds: [sg] }],
      Volumes: [{ VolumeType: "ESSD_PL0", Size: 40 }],
    })
  ).body.Result.InstanceIds[0] as string;
  later();
  return id;
}

const egressAll = { Protocol: "all", PortStart: -1, PortEnd: -1, CidrIp: "0.0.0.0/0", Policy: "accept", Priority: 1 };

describe("local cloud: one switch per open question", () => {
  it("parses --answers and refuses an unknown switch or value", () => {
    expect(parseAnswers("")).toEqual(DEFAULT_ANSWERS);
    expect(parseAnswers("keyPairProjectName=returned").keyPairProjectName).toBe("returned");
    expect(() => parseAnswers("keyPairProjectName=maybe")).toThrow(/one of omitted, returned/);
    expect(() => parseAnswers("colour=blue")).toThrow(/unknown answer colour/);
    for (const [key, values] of Object.entries(ANSWER_VALUES))
      expect(values[0], key).toBe(DEFAULT_ANSWERS[key as keyof Answers]);
  });

  for (const answer of ANSWER_VALUES.keyPairProjectName) {
    it(`keyPairProjectName=${answer}: DescribeKeyPairs ${answer === "returned" ? "carries" : "leaves out"} ProjectName`, async () => {
      await start({ keyPairProjectName: answer });
      await call("ecs", "ImportKeyPair", {
        KeyPairName: "todo-key",
        PublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTests local",
      });
      const [pair] = (await call("ecs", "DescribeKeyPairs", { KeyPairNames: ["todo-key"] })).body.Result.KeyPairs;
      if (answer === "returned") expect(pair.ProjectName).toBe("default");
      else expect(pair).not.toHaveProperty("ProjectName");
    });
  }

  for (const answer of ANSWER_VALUES.securityGroupDefaultRules) {
    it(`securityGroupDefaultRules=${answer}: a new group holds ${answer === "none" ? "no rule" : "an egress-all rule, and adding it again is a duplicate"}`, async () => {
      await start({ securityGroupDefaultRules: answer });
      const { sg } = await network();
      const rules = (await call("vpc", "DescribeSecurityGroupAttributes", { SecurityGroupId: sg })).body.Result
        .Permissions;
      const added = await call("vpc", "AuthorizeSecurityGroupEgress", { SecurityGroupId: sg, ...egressAll });
      if (answer === "none") {
        expect(rules).toEqual([]);
        expect(added.status).toBe(200);
      } else {
        expect(rules).toEqual([expect.objectContaining({ Direction: "egress", ...egressAll })]);
        expect(code(added)).toBe("InvalidSecurityRule.Conflict");
      }
    });
  }

  for (const answer of ANSWER_VALUES.revokeMissingRule) {
    it(`revokeMissingRule=${answer}: revoking a rule the group does not hold ${answer}`, async () => {
      await start({ revokeMissingRule: answer });
      const { sg } = await network();
      const r = await call("vpc", "RevokeSecurityGroupIngress", {
        SecurityGroupId: sg,
        ...egressAll,
        Protocol: "tcp",
        PortStart: 22,
        PortEnd: 22,
      });
      if (answer === "succeeds") expect(r.status).toBe(200);
      else expect(code(r)).toBe("InvalidSecurityRule.NotFound");
    });
  }

  for (const answer of ANSWER_VALUES.instanceEipAddress) {
    it(`instanceEipAddress=${answer}: DescribeInstances ${answer === "reported" ? "reports" : "does not report"} an associated EIP`, async () => {
      await start({ instanceEipAddress: answer });
      const id = await instance();
      const eip = (await call("vpc", "AllocateEipAddress", { BillingType: 3, Bandwidth: 5 })).body.Result;
      later();
      await call("vpc", "AssociateEipAddress", {
        AllocationId: eip.AllocationId,
        InstanceId: id,
        InstanceType: "EcsInstance",
      });
      later();
      const [described] = (await call("ecs", "DescribeInstances", { InstanceIds: [id] })).body.Result.Instances;
      if (answer === "omitted") expect(described).not.toHaveProperty("EipAddress");
      else
        expect(described.EipAddress).toMatchObject({
          AllocationId: eip.AllocationId,
          IpAddress: eip.EipAddress,
          ChargeType: "PostPaidByTraffic",
        });
    });
  }

  for (const answer of ANSWER_VALUES.userDataWhileRunning) {
    it(`userDataWhileRunning=${answer}: new user data for a running instance is ${answer}`, async () => {
      await start({ userDataWhileRunning: answer });
      const id = await instance();
      const sent = Buffer.from("#cloud-config\nhostname: x\n").toString("base64");
      const r = await call("ecs", "ModifyInstanceAttribute", {
        InstanceId: id,
        UserData: sent,
        InstanceName: "renamed",
      });
      const stored = (await call("ecs", "DescribeUserData", { InstanceId: id })).body.Result.UserData;
      const [described] = (await call("ecs", "DescribeInstances", { InstanceIds: [id] })).body.Result.Instances;
      if (answer === "refused") {
        expect(code(r)).toBe("IncorrectInstanceStatus");
        expect(described.InstanceName).not.toBe("renamed");
      } else {
        expect(r.status).toBe(200);
        expect(stored).not.toBe(sent);
        expect(described.InstanceName).toBe("renamed");
      }
    });
  }

  for (const answer of ANSWER_VALUES.iamRoleAttach) {
    it(`iamRoleAttach=${answer}: a new role is attachable ${answer === "immediate" ? "at once" : "only after a while (GetRole answers at once)"}`, async () => {
      await start({ iamRoleAttach: answer });
      const iam = (action: string, params: Record<string, unknown>) =>
        openApi(cloud.url, "iam", action, params, { version: "2018-01-01" });
      const trust = JSON.stringify({
        Statement: [{ Effect: "Allow", Action: ["sts:AssumeRole"], Principal: { Service: ["ecs"] } }],
      });
      await iam("CreateRole", { RoleName: "backups", TrustPolicyDocument: trust });
      await iam("CreatePolicy", {
        PolicyName: "p",
        PolicyDocument: JSON.stringify({
          Statement: [{ Effect: "Allow", Action: ["tos:GetObject"], Resource: ["*"] }],
        }),
      });
      expect((await iam("GetRole", { RoleName: "backups" })).status).toBe(200);
      const attach = () => iam("AttachRolePolicy", { RoleName: "backups", PolicyName: "p", PolicyType: "Custom" });
      const id = await instance();
      const associate = () => call("ecs", "AssociateInstancesIamRole", { IamRoleName: "backups", InstanceIds: [id] });
      if (answer === "immediate") {
        expect((await attach()).status).toBe(200);
        expect((await associate()).status).toBe(200);
      } else {
        clock -= 1000; // back to just after CreateRole (instance() moved the clock on)
        expect(code(await attach())).toBe("EntityNotExist.Role");
        expect(code(await associate())).toBe("RoleNotExist");
        clock += 1000 + 101;
        expect((await attach()).status).toBe(200);
        expect((await associate()).status).toBe(200);
      }
    });
  }

  for (const answer of ANSWER_VALUES.rdsChangesWhileBusy) {
    it(`rdsChangesWhileBusy=${answer}: an account on an instance still Creating is ${answer}`, async () => {
      await start({ rdsChangesWhileBusy: answer });
      const { vpcId, subnetId } = await network();
      const rds = (action: string, params: Record<string, unknown>) =>
        openApiJson(cloud.url, "rds_postgresql", action, params);
      const id = (
        await rds("CreateDBInstance", {
          DBEngineVersion: "PostgreSQL_16",
          StorageSpace: 20,
          VpcId: vpcId,
          SubnetId: subnetId,
          ChargeInfo: { ChargeType: "PostPaid" },
          NodeInfo: [
            { NodeType: "Primary", ZoneId: "cn-beijing-a", NodeSpec: "rds.postgres.1c2g", NodeOperateType: "Create" },
            { NodeType: "Secondary", ZoneId: "cn-beijing-b", NodeSpec: "rds.postgres.1c2g", NodeOperateType: "Create" },
          ],
        })
      ).body.Result.InstanceId;
      const r = await rds("CreateDBAccount", {
        InstanceId: id,
        AccountName: "todo_app",
        AccountPassword: "Aa1!aaaaaa",
        AccountType: "Normal",
      });
      if (answer === "refused") expect(code(r)).toBe("OperationDenied.InstanceStatus");
      else expect(r.status).toBe(200);
    });
  }

  for (const answer of ANSWER_VALUES.rdsChargeNumber) {
    it(`rdsChargeNumber=${answer}: DescribeDBInstanceDetail's ChargeDetail ${answer === "answered" ? "carries" : "lacks"} Number`, async () => {
      await start({ rdsChargeNumber: answer });
      const { vpcId, subnetId } = await network();
      const rds = (action: string, params: Record<string, unknown>) =>
        openApiJson(cloud.url, "rds_postgresql", action, params);
      const id = (
        await rds("CreateDBInstance", {
          DBEngineVersion: "PostgreSQL_16",
          StorageSpace: 20,
          VpcId: vpcId,
          SubnetId: subnetId,
          ChargeInfo: { ChargeType: "PostPaid" },
          NodeInfo: [
            { NodeType: "Primary", ZoneId: "cn-beijing-a", NodeSpec: "rds.postgres.1c2g", NodeOperateType: "Create" },
            { NodeType: "Secondary", ZoneId: "cn-beijing-b", NodeSpec: "rds.postgres.1c2g", NodeOperateType: "Create" },
          ],
        })
      ).body.Result.InstanceId;
      const charge = (await rds("DescribeDBInstanceDetail", { InstanceId: id })).body.Result.ChargeDetail;
      expect(charge.ChargeType).toBe("PostPaid");
      if (answer === "answered") expect(charge.Number).toBe(1);
      else expect(charge).not.toHaveProperty("Number");
    });
  }
});
