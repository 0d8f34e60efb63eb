import { expect } from "vitest";
import type { Answers } from "../../local-cloud/answers.js";
import type { BootRequest, InstanceBooter } from "../../local-cloud/booter.js";
import { type LocalCloud, startLocalCloud } from "../../local-cloud/server.js";
import { openApi } from "./client.js";

/**
 * What the Auto Scaling suites share: a stand-in with a recording booter and a clock the test
 * moves, the signed calls, and a world to scale in (VPC, subnets, key pair, CLB server group).
 */
export let cloud: LocalCloud;
export let clock = Date.now();
/** Moves the stand-in's clock (transitions take 100 ms). */
export const later = (ms = 101) => {
  clock += ms;
};
export let booted: unknown[][] = [];
const booter: InstanceBooter = {
  run: (r: BootRequest) => void booted.push(["run", r]),
  stop: (id) => void booted.push(["stop", id]),
  start: (id) => void booted.push(["start", id]),
  remove: (id) => void booted.push(["remove", id]),
  attachAddress: (id, a) => void booted.push(["attach", id, a]),
  detachAddress: (id, a) => void booted.push(["detach", id, a]),
};
/** For each suite's afterEach. */
export const close = () => cloud?.close();

export async function start(answers: Partial<Answers> = {}) {
  clock = Date.now();
  booted = [];
  cloud = await startLocalCloud({ transitionMs: 100, now: () => clock, answers, booter });
}
export const as = (action: string, params: Record<string, unknown> = {}) =>
  openApi(cloud.url, "auto_scaling", action, params, { version: "2020-01-01" });
export const call = (service: string, action: string, params: Record<string, unknown> = {}) =>
  openApi(cloud.url, service, action, params);
export const ok = (r: { status: number; body: any }) => {
  expect(r.status, JSON.stringify(r.body.ResponseMetadata?.Error)).toBe(200);
  return r.body.Result;
};
export const code = (r: { body: any }) => r.body.ResponseMetadata.Error?.Code;
export const USER_DATA = "#cloud-config\nruncmd: [echo scaled]\n";

/** VPC, subnet, security group, key pair, a CLB with a server group, an image. */
export async function world() {
  const vpcId = ok(await call("vpc", "CreateVpc", { CidrBlock: "172.16.0.0/16" })).VpcId;
  later();
  const subnetId = ok(
    await call("vpc", "CreateSubnet", { VpcId: vpcId, ZoneId: "cn-beijing-a", CidrBlock: "172.16.1.0/24" }),
  ).SubnetId;
  const sg = ok(await call("vpc", "CreateSecurityGroup", { VpcId: vpcId })).SecurityGroupId;
  later();
  ok(
    await call("ecs", "ImportKeyPair", {
      KeyPairName: "todo-key",
      PublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTests local",
    }),
  );
  const image = ok(await call("ecs", "DescribeImages", { Platform: "Debian" })).Images[0].ImageId;
  const lb = ok(
    await call("clb", "CreateLoadBalancer", {
      Type: "public",
      LoadBalancerSpec: "small_1",
      SubnetId: subnetId,
      LoadBalancerBillingType: 2,
      EipBillingConfig: { EipBillingType: 3, Bandwidth: 5, ISP: "BGP" },
    }),
  ).LoadBalancerId;
  later();
  const serverGroupId = ok(
    await call("clb", "CreateServerGroup", { LoadBalancerId: lb, ServerGroupName: "app" }),
  ).ServerGroupId;
  later();
  return { vpcId, subnetId, sg, image, lb, serverGroupId };
}

/** A group joined to the server group on port 80, its configuration made active; not enabled. */
export async function group(w: Awaited<ReturnType<typeof world>>, extra: Record<string, unknown> = {}) {
  const groupId = ok(
    await as("CreateScalingGroup", {
      ScalingGroupName: "todo-app",
      SubnetIds: [w.subnetId],
      MinInstanceNumber: 0,
      MaxInstanceNumber: 4,
      DesireInstanceNumber: 1,
      ServerGroupAttributes: [{ ServerGroupId: w.serverGroupId, Port: 80, Weight: 50 }],
      ...extra,
    }),
  ).ScalingGroupId;
  const configId = ok(
    await as("CreateScalingConfiguration", {
      ScalingGroupId: groupId,
      ScalingConfigurationName: "todo-app-v1",
      ImageId: w.image,
      InstanceTypes: ["ecs.g1.large"],
      InstanceName: "todo-app-scaled",
      SecurityGroupIds: [w.sg],
      KeyPairName: "todo-key",
      UserData: Buffer.from(USER_DATA).toString("base64"),
      Volumes: [{ VolumeType: "ESSD_PL0", Size: 40, DeleteWithInstance: true }],
    }),
  ).ScalingConfigurationId;
  ok(await as("EnableScalingConfiguration", { ScalingGroupId: groupId, ScalingConfigurationId: configId }));
  return { groupId, configId };
}

export const hook = async (groupId: string, type: string, policy: string, timeout = 900) =>
  ok(
    await as("CreateLifecycleHook", {
      ScalingGroupId: groupId,
      LifecycleHookName: `hold-${type.toLowerCase()}`,
      LifecycleHookType: type,
      LifecycleHookPolicy: policy,
      LifecycleHookTimeout: timeout,
    }),
  ).LifecycleHookId;
export const instances = async (groupId: string) =>
  ok(await as("DescribeScalingInstances", { ScalingGroupId: groupId })).ScalingInstances as Record<string, any>[];
export const servers = async (serverGroupId: string) =>
  ok(await call("clb", "DescribeServerGroupAttributes", { ServerGroupId: serverGroupId })).Servers as Record<
    string,
    any
  >[];
export const waiting = async (instanceId: string) =>
  ok(await as("DescribeLifecycleActivities", { InstanceId: instanceId, LifecycleActivityStatus: "Waiting" }))
    .LifecycleActivities as any[];
export const ecsIds = async () =>
  (ok(await call("ecs", "DescribeInstances")).Instances as Record<string, any>[]).map((i) => i.InstanceId);
