import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { InstanceBooter } from "../../../local-cloud/booter.js";
import { startLocalCloud, type LocalCloud } from "../../../local-cloud/server.js";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EcsBooter, metaData } from "../../../harness/cloud/ecs-booter.js";
import { StepLog } from "../../../harness/rehearse/steps.js";
import { openApi, until } from "../../local-cloud/client.js";

/**
 * What the stand-in tells a booter across an instance's life (stop, start, EIP, delete). The
 * recorded provider calls drive RunInstances in replay.test.ts; the real boot, SSH deploy and smoke
 * test through the EIP are proven by `npm run rehearse:cloud` (root, nspawn, the provider binary).
 */
const asked: string[] = [];
const booter: InstanceBooter = {
  run: (r) =>
    void asked.push(
      `run ${r.hostname} ${r.publicKeys.length} key(s) ${r.userData.split("\n")[0]} in ${r.network.subnetCidr} at ${r.network.privateIpAddress}`,
    ),
  stop: (id) => void asked.push(`stop ${id}`),
  start: (id) => void asked.push(`start ${id}`),
  remove: (id) => void asked.push(`remove ${id}`),
  attachAddress: (id, a) => void asked.push(`attach ${id} ${a}`),
  detachAddress: (id, a) => void asked.push(`detach ${id} ${a}`),
};

let cloud: LocalCloud;
beforeAll(async () => {
  cloud = await startLocalCloud({ transitionMs: 50, booter });
});
afterAll(() => cloud.close());

const vpc = (action: string, params: Record<string, unknown> = {}) => openApi(cloud.url, "vpc", action, params);
const ecs = (action: string, params: Record<string, unknown> = {}) => openApi(cloud.url, "ecs", action, params);
const status = async (id: string) =>
  (await ecs("DescribeInstances", { InstanceIds: [id] })).body.Result.Instances[0]?.Status;

describe("local cloud: the booter follows the instance", () => {
  it("is told to boot, power off, boot again, take and lose the EIP, and remove the server", async () => {
    const vpcId = (await vpc("CreateVpc", { CidrBlock: "172.16.0.0/16" })).body.Result.VpcId;
    const subnetId = (await vpc("CreateSubnet", { VpcId: vpcId, ZoneId: "cn-beijing-a", CidrBlock: "172.16.1.0/24" }))
      .body.Result.SubnetId;
    const sg = (await vpc("CreateSecurityGroup", { VpcId: vpcId })).body.Result.SecurityGroupId;
    await ecs("ImportKeyPair", {
      KeyPairName: "boot-key",
      PublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTests local",
    });
    const images = (await ecs("DescribeImages", { Platform: "Debian" })).body.Result.Images;
    const run = await ecs("RunInstances", {
      ImageId: images[0].ImageId,
      InstanceType: "ecs.c3i.large",
      ZoneId: "cn-beijing-a",
      KeyPairName: "boot-key",
      HostName: "box",
      UserData: Buffer.from("#cloud-config\nruncmd: [true]\n").toString("base64"),
      NetworkInterfaces: [{ SubnetId: subnetId, SecurityGroupIds: [sg] }],
      Volumes: [{ VolumeType: "ESSD_PL0", Size: 40 }],
    });
    const id = run.body.Result.InstanceIds[0] as string;
    await until(
      () => status(id),
      (x) => x === "RUNNING",
    );
    await ecs("StopInstance", { InstanceId: id });
    await until(
      () => status(id),
      (x) => x === "STOPPED",
    );
    await ecs("StartInstance", { InstanceId: id });
    await until(
      () => status(id),
      (x) => x === "RUNNING",
    );
    const eip = (await vpc("AllocateEipAddress", { BillingType: 3, Bandwidth: 5 })).body.Result;
    await until(
      async () =>
        (await vpc("DescribeEipAddresses", { AllocationIds: [eip.AllocationId] })).body.Result.EipAddresses[0].Status,
      (x) => x === "Available",
    );
    await vpc("AssociateEipAddress", { AllocationId: eip.AllocationId, InstanceId: id });
    await until(
      async () =>
        (await vpc("DescribeEipAddresses", { AllocationIds: [eip.AllocationId] })).body.Result.EipAddresses[0].Status,
      (x) => x === "Attached",
    );
    // Refused while the EIP is attached: the server must not be removed.
    expect((await ecs("DeleteInstance", { InstanceId: id })).status).toBe(409);
    await vpc("DisassociateEipAddress", { AllocationId: eip.AllocationId });
    expect((await ecs("DeleteInstance", { InstanceId: id })).status).toBe(200);
    expect(asked).toEqual([
      // The interface where DescribeInstances reports it: the VPC booter puts the server there.
      "run box 1 key(s) #cloud-config in 172.16.1.0/24 at 172.16.1.3",
      `stop ${id}`,
      `start ${id}`,
      `attach ${id} ${eip.EipAddress}`,
      `detach ${id} ${eip.EipAddress}`,
      `remove ${id}`,
    ]);
  });
});

describe("the container booter's NoCloud meta-data", () => {
  it("gives cloud-init the instance id, host name and the key pair's key (public-keys), as ECS's metadata does", () => {
    const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTests owner@laptop";
    expect(
      parse(metaData({ instanceId: "i-1", hostname: "todo-api-dev", userData: "", publicKeys: [`${key}\n`] })),
    ).toEqual({
      "instance-id": "i-1",
      "local-hostname": "todo-api-dev",
      "public-keys": [key],
    });
    expect(parse(metaData({ instanceId: "i-2", hostname: "h", userData: "", publicKeys: [] }))).toEqual({
      "instance-id": "i-2",
      "local-hostname": "h",
    });
  });
});

describe("the container booter's EIP claims (two scenarios on one machine)", () => {
  it("hands an address to one stand-in at a time, frees it on release, and takes over a dead process's claim", async () => {
    const claimsDir = mkdtempSync(join(tmpdir(), "eip-claims-"));
    const booter = () =>
      new EcsBooter({ cacheDir: "/nonexistent", workDir: "/nonexistent", log: new StepLog(), claimsDir });
    const [a, b] = [booter(), booter()];
    try {
      expect(a.claimAddress("198.18.0.1")).toBe(true);
      expect(b.claimAddress("198.18.0.1")).toBe(false);
      // Through the stand-in: b's AllocateEipAddress skips the address a holds.
      const other = await startLocalCloud({ booter: b });
      try {
        const eip = (await openApi(other.url, "vpc", "AllocateEipAddress", { BillingType: 3, Bandwidth: 5 })).body
          .Result;
        expect(eip.EipAddress).toBe("198.18.0.2");
      } finally {
        await other.close();
      }
      a.releaseAddress("198.18.0.1");
      expect(b.claimAddress("198.18.0.1")).toBe(true);
      writeFileSync(join(claimsDir, "198.18.0.9"), "2147483647\n"); // no such process
      expect(a.claimAddress("198.18.0.9")).toBe(true);
    } finally {
      rmSync(claimsDir, { recursive: true, force: true });
    }
  });
});
