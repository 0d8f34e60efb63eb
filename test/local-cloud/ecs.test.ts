import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalCloud, type LocalCloud } from "../../local-cloud/server.js";
import { openApi, until } from "./client.js";

let cloud: LocalCloud;
beforeAll(async () => {
  cloud = await startLocalCloud({ transitionMs: 300 });
});
afterAll(() => cloud.close());

const vpc = (action: string, params: Record<string, unknown> = {}) => openApi(cloud.url, "vpc", action, params);
const ecs = (action: string, params: Record<string, unknown> = {}) => openApi(cloud.url, "ecs", action, params);
const status = async (id: string) =>
  (await ecs("DescribeInstances", { InstanceIds: [id] })).body.Result.Instances[0]?.Status;
const userData = Buffer.from("#cloud-config\n").toString("base64");

/** A VPC, subnet, security group, key pair and a running instance in them. */
async function server() {
  const vpcId = (await vpc("CreateVpc", { CidrBlock: "172.16.0.0/16" })).body.Result.VpcId;
  const subnetId = (await vpc("CreateSubnet", { VpcId: vpcId, ZoneId: "cn-beijing-a", CidrBlock: "172.16.1.0/24" }))
    .body.Result.SubnetId;
  const sg = (await vpc("CreateSecurityGroup", { VpcId: vpcId })).body.Result.SecurityGroupId;
  const name = `k${Math.random().toString(36).slice(2, 8)}`;
  await ecs("ImportKeyPair", {
    KeyPairName: name,
    PublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTests local",
  });
  const images = (
    await ecs("DescribeImages", { Platform: "Debian", IsSupportCloudInit: true, InstanceTypeId: "ecs.c3i.large" })
  ).body.Result.Images;
  const run = await ecs("RunInstances", {
    ImageId: images[0].ImageId,
    InstanceType: "ecs.c3i.large",
    ZoneId: "cn-beijing-a",
    KeyPairName: name,
    UserData: userData,
    NetworkInterfaces: [{ SubnetId: subnetId, SecurityGroupIds: [sg] }],
    Volumes: [{ VolumeType: "ESSD_PL0", Size: 40 }],
  });
  expect(run.status).toBe(200);
  return { vpcId, subnetId, sg, key: name, id: run.body.Result.InstanceIds[0] as string };
}

describe("local cloud: ECS", () => {
  it("boots an instance CREATING → RUNNING with its private IP, volume and user data", async () => {
    const s = await server();
    expect(await status(s.id)).toBe("CREATING");
    expect(
      await until(
        () => status(s.id),
        (x) => x === "RUNNING",
      ),
    ).toBe("RUNNING");
    const nic = (await ecs("DescribeInstances", { InstanceIds: [s.id] })).body.Result.Instances[0].NetworkInterfaces[0];
    const nics = (await vpc("DescribeNetworkInterfaces", { NetworkInterfaceIds: [nic.NetworkInterfaceId] })).body.Result
      .NetworkInterfaceSets;
    expect(nics[0]).toMatchObject({
      Type: "primary",
      SubnetId: s.subnetId,
      SecurityGroupIds: [s.sg],
      PrimaryIpAddress: "172.16.1.3",
    });
    const volumes = (await openApi(cloud.url, "storage_ebs", "DescribeVolumes", { InstanceId: s.id })).body.Result
      .Volumes;
    expect(volumes[0]).toMatchObject({ Kind: "system", VolumeType: "ESSD_PL0", Size: "40" });
    expect((await ecs("DescribeUserData", { InstanceId: s.id })).body.Result.UserData).toBe(userData);
  });

  it("changes user data only on a stopped instance", async () => {
    const s = await server();
    await until(
      () => status(s.id),
      (x) => x === "RUNNING",
    );
    const other = Buffer.from("#cloud-config\nhostname: x\n").toString("base64");
    const refused = await ecs("ModifyInstanceAttribute", { InstanceId: s.id, UserData: other });
    expect(refused.status).toBe(400);
    expect(refused.body.ResponseMetadata.Error.Code).toBe("IncorrectInstanceStatus");
    expect((await ecs("StopInstance", { InstanceId: s.id })).status).toBe(200);
    expect(
      await until(
        () => status(s.id),
        (x) => x === "STOPPED",
      ),
    ).toBe("STOPPED");
    expect((await ecs("ModifyInstanceAttribute", { InstanceId: s.id, UserData: other })).status).toBe(200);
    expect((await ecs("DescribeUserData", { InstanceId: s.id })).body.Result.UserData).toBe(other);
  });

  it("refuses user data that is not base64 or over 16 KB", async () => {
    const s = await server();
    await until(
      () => status(s.id),
      (x) => x === "RUNNING",
    );
    await ecs("StopInstance", { InstanceId: s.id });
    await until(
      () => status(s.id),
      (x) => x === "STOPPED",
    );
    const big = Buffer.alloc(16 * 1024 + 1, "a").toString("base64");
    expect(
      (await ecs("ModifyInstanceAttribute", { InstanceId: s.id, UserData: big })).body.ResponseMetadata.Error.Code,
    ).toBe("InvalidParameter");
    expect(
      (await ecs("ModifyInstanceAttribute", { InstanceId: s.id, UserData: "not base64!" })).body.ResponseMetadata.Error
        .Code,
    ).toBe("InvalidParameter");
  });

  it("keeps an in-use security group, key pair and subnet until the instance is gone", async () => {
    const s = await server();
    await until(
      () => status(s.id),
      (x) => x === "RUNNING",
    );
    expect((await vpc("DeleteSecurityGroup", { SecurityGroupId: s.sg })).body.ResponseMetadata.Error.Code).toBe(
      "InvalidOperation.SecurityGroupInUse",
    );
    expect((await ecs("DeleteKeyPairs", { KeyPairNames: [s.key] })).body.ResponseMetadata.Error.Code).toBe(
      "InvalidOperation.KeyPairInUse",
    );
    expect((await vpc("DeleteSubnet", { SubnetId: s.subnetId })).body.ResponseMetadata.Error.Code).toBe(
      "DependencyViolation.Subnet",
    );
    expect((await ecs("DeleteInstance", { InstanceId: s.id })).status).toBe(200);
    expect(await status(s.id)).toBe("DELETING");
    await until(
      () => status(s.id),
      (x) => x === undefined,
    );
    expect((await vpc("DeleteSecurityGroup", { SecurityGroupId: s.sg })).status).toBe(200);
    expect((await ecs("DeleteKeyPairs", { KeyPairNames: [s.key] })).status).toBe(200);
    expect((await vpc("DeleteSubnet", { SubnetId: s.subnetId })).status).toBe(200);
  });
});

describe("local cloud: EIP", () => {
  it("attaches, refuses release while attached, detaches and releases", async () => {
    const s = await server();
    await until(
      () => status(s.id),
      (x) => x === "RUNNING",
    );
    const eip = (await vpc("AllocateEipAddress", { BillingType: 3, Bandwidth: 5, ISP: "BGP" })).body.Result;
    expect(eip.EipAddress).toMatch(/^198\.1[89]\./);
    const eipStatus = async () =>
      (await vpc("DescribeEipAddressAttributes", { AllocationId: eip.AllocationId })).body.Result.Status;
    await until(eipStatus, (x) => x === "Available");
    expect(
      (
        await vpc("AssociateEipAddress", {
          AllocationId: eip.AllocationId,
          InstanceId: s.id,
          InstanceType: "EcsInstance",
        })
      ).status,
    ).toBe(200);
    expect(await until(eipStatus, (x) => x === "Attached")).toBe("Attached");
    expect((await vpc("ReleaseEipAddress", { AllocationId: eip.AllocationId })).body.ResponseMetadata.Error.Code).toBe(
      "InvalidOperation.EipAddressInUse",
    );
    expect((await ecs("DeleteInstance", { InstanceId: s.id })).body.ResponseMetadata.Error.Code).toBe(
      "InvalidOperation.EipAttached",
    );
    expect((await vpc("DisassociateEipAddress", { AllocationId: eip.AllocationId })).status).toBe(200);
    await until(eipStatus, (x) => x === "Available");
    expect((await vpc("ReleaseEipAddress", { AllocationId: eip.AllocationId })).status).toBe(200);
  });

  it("refuses traffic billing above 200 Mbps", async () => {
    const r = await vpc("AllocateEipAddress", { BillingType: 3, Bandwidth: 300 });
    expect(r.body.ResponseMetadata.Error.Code).toBe("InvalidParameter");
  });
});
