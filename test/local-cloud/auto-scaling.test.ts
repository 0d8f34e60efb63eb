import { afterEach, describe, expect, it } from "vitest";
import type { Answers } from "../../local-cloud/answers.js";
import type { BootRequest, InstanceBooter } from "../../local-cloud/booter.js";
import { type LocalCloud, startLocalCloud } from "../../local-cloud/server.js";
import { openApi } from "./client.js";

/**
 * The stand-in's Auto Scaling service through the signed API, as the provider and the seed call it:
 * groups, configurations and hooks, and what an enabled group does with its instances (ECS
 * instances through the ECS service and its booter, held by lifecycle hooks, joined to and taken
 * out of the CLB server group).
 */
let cloud: LocalCloud;
let clock = Date.now();
/** Moves the stand-in's clock (transitions take 100 ms). */
const later = (ms = 101) => {
  clock += ms;
};
let booted: unknown[][] = [];
const booter: InstanceBooter = {
  run: (r: BootRequest) => void booted.push(["run", r]),
  stop: (id) => void booted.push(["stop", id]),
  start: (id) => void booted.push(["start", id]),
  remove: (id) => void booted.push(["remove", id]),
  attachAddress: (id, a) => void booted.push(["attach", id, a]),
  detachAddress: (id, a) => void booted.push(["detach", id, a]),
};
afterEach(() => cloud?.close());

async function start(answers: Partial<Answers> = {}) {
  clock = Date.now();
  booted = [];
  cloud = await startLocalCloud({ transitionMs: 100, now: () => clock, answers, booter });
}
const as = (action: string, params: Record<string, unknown> = {}) =>
  openApi(cloud.url, "auto_scaling", action, params, { version: "2020-01-01" });
const call = (service: string, action: string, params: Record<string, unknown> = {}) =>
  openApi(cloud.url, service, action, params);
const ok = (r: { status: number; body: any }) => {
  expect(r.status, JSON.stringify(r.body.ResponseMetadata?.Error)).toBe(200);
  return r.body.Result;
};
const code = (r: { body: any }) => r.body.ResponseMetadata.Error?.Code;
const USER_DATA = "#cloud-config\nruncmd: [echo scaled]\n";

/** VPC, subnet, security group, key pair, a CLB with a server group, an image. */
async function world() {
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
async function group(w: Awaited<ReturnType<typeof world>>, extra: Record<string, unknown> = {}) {
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

const hook = async (groupId: string, type: string, policy: string, timeout = 900) =>
  ok(
    await as("CreateLifecycleHook", {
      ScalingGroupId: groupId,
      LifecycleHookName: `hold-${type.toLowerCase()}`,
      LifecycleHookType: type,
      LifecycleHookPolicy: policy,
      LifecycleHookTimeout: timeout,
    }),
  ).LifecycleHookId;
const instances = async (groupId: string) =>
  ok(await as("DescribeScalingInstances", { ScalingGroupId: groupId })).ScalingInstances as Record<string, any>[];
const servers = async (serverGroupId: string) =>
  ok(await call("clb", "DescribeServerGroupAttributes", { ServerGroupId: serverGroupId })).Servers as Record<
    string,
    any
  >[];
const waiting = async (instanceId: string) =>
  ok(await as("DescribeLifecycleActivities", { InstanceId: instanceId, LifecycleActivityStatus: "Waiting" }))
    .LifecycleActivities as any[];
const ecsIds = async () =>
  (ok(await call("ecs", "DescribeInstances")).Instances as Record<string, any>[]).map((i) => i.InstanceId);

describe("local cloud: Auto Scaling resources as the provider manages them", () => {
  it("creates, reads, changes and deletes a group, its configuration and its hook", async () => {
    await start();
    const w = await world();
    const { groupId, configId } = await group(w, { DefaultCooldown: 60 });
    const g = ok(await as("DescribeScalingGroups", { ScalingGroupIds: [groupId] })).ScalingGroups[0];
    expect(g).toMatchObject({
      ScalingGroupName: "todo-app",
      LifecycleState: "InActive",
      VpcId: w.vpcId,
      SubnetIds: [w.subnetId],
      MinInstanceNumber: 0,
      MaxInstanceNumber: 4,
      DesireInstanceNumber: 1,
      DefaultCooldown: 60,
      ActiveScalingConfigurationId: configId,
      InstanceTerminatePolicy: "OldestScalingConfigurationWithOldestInstance",
      MultiAZPolicy: "PRIORITY",
      ServerGroupAttributes: [{ ServerGroupId: w.serverGroupId, LoadBalancerId: w.lb, Port: 80, Weight: 50 }],
      TotalInstanceCount: 0,
    });
    const c = ok(await as("DescribeScalingConfigurations", { ScalingConfigurationIds: [configId] }))
      .ScalingConfigurations[0];
    expect(c).toMatchObject({
      ScalingGroupId: groupId,
      LifecycleState: "Active",
      InstanceTypes: ["ecs.g1.large"],
      SecurityGroupIds: [w.sg],
      Volumes: [{ VolumeType: "ESSD_PL0", Size: 40, DeleteWithInstance: true }],
      UserData: Buffer.from(USER_DATA).toString("base64"),
      SpotStrategy: "NoSpot",
    });
    const hookId = await hook(groupId, "SCALE_OUT", "REJECT");
    ok(await as("ModifyLifecycleHook", { LifecycleHookId: hookId, LifecycleHookTimeout: 600 }));
    expect(
      ok(await as("DescribeLifecycleHooks", { ScalingGroupId: groupId, LifecycleHookIds: [hookId] })).LifecycleHooks,
    ).toEqual([
      {
        LifecycleHookId: hookId,
        LifecycleHookName: "hold-scale_out",
        ScalingGroupId: groupId,
        LifecycleHookType: "SCALE_OUT",
        LifecycleHookPolicy: "REJECT",
        LifecycleHookTimeout: 600,
      },
    ]);
    ok(await as("ModifyScalingGroup", { ScalingGroupId: groupId, MaxInstanceNumber: 3, ScalingGroupName: "renamed" }));
    ok(await as("ModifyScalingConfiguration", { ScalingConfigurationId: configId, InstanceName: "todo-app-v2" }));
    expect(ok(await as("DescribeScalingGroups", { ScalingGroupNames: ["renamed"] })).ScalingGroups[0]).toMatchObject({
      MaxInstanceNumber: 3,
    });
    ok(await as("DeleteLifecycleHook", { LifecycleHookId: hookId }));
    ok(await as("DeleteScalingConfiguration", { ScalingConfigurationId: configId }));
    ok(await as("DeleteScalingGroup", { ScalingGroupId: groupId }));
    expect(ok(await as("DescribeScalingGroups", { ScalingGroupIds: [groupId] })).ScalingGroups).toEqual([]);
    expect(cloud.store.snapshot().filter((r) => r.kind.startsWith("as-"))).toEqual([]);
  });

  it("refuses bad input with the API's error shape, never a 500", async () => {
    await start();
    const w = await world();
    const base = { ScalingGroupName: "g", SubnetIds: [w.subnetId], MinInstanceNumber: 0, MaxInstanceNumber: 2 };
    expect(code(await as("CreateScalingGroup", { ...base, DesireInstanceNumber: 3 }))).toBe("InvalidParameter");
    expect(code(await as("CreateScalingGroup", { ...base, MinInstanceNumber: 3 }))).toBe("InvalidParameter");
    expect(code(await as("CreateScalingGroup", { ...base, SubnetIds: ["subnet-missing"] }))).toBe(
      "InvalidSubnet.NotFound",
    );
    expect(
      code(
        await as("CreateScalingGroup", {
          ...base,
          ServerGroupAttributes: [{ ServerGroupId: "rsp-missing", Port: 80, Weight: 1 }],
        }),
      ),
    ).toBe("InvalidServerGroup.NotFound");
    const { groupId } = await group(w);
    for (const timeout of [10, 21601])
      expect(
        code(
          await as("CreateLifecycleHook", {
            ScalingGroupId: groupId,
            LifecycleHookName: "h",
            LifecycleHookType: "SCALE_OUT",
            LifecycleHookPolicy: "REJECT",
            LifecycleHookTimeout: timeout,
          }),
        ),
      ).toBe("InvalidParameter");
    expect(
      code(
        await as("CreateLifecycleHook", {
          ScalingGroupId: groupId,
          LifecycleHookName: "h",
          LifecycleHookType: "SCALE_UP",
          LifecycleHookPolicy: "REJECT",
          LifecycleHookTimeout: 60,
        }),
      ),
    ).toBe("InvalidParameter");
    expect(
      code(
        await as("CreateScalingConfiguration", {
          ScalingGroupId: groupId,
          ScalingConfigurationName: "c",
          ImageId: w.image,
          InstanceTypes: ["ecs.g1.large"],
          InstanceName: "x",
          SecurityGroupIds: [w.sg],
          KeyPairName: "todo-key",
          UserData: "not base64!",
          Volumes: [{ VolumeType: "ESSD_PL0", Size: 40 }],
        }),
      ),
    ).toBe("InvalidParameter");
    expect(code(await as("DescribeScalingGroups", { ScalingGroupIds: "x", PageSize: "x" }))).toBeUndefined();
    expect(code(await as("ModifyScalingGroup", { ScalingGroupId: "scg-missing" }))).toBe(
      "InvalidScalingGroupId.NotFound",
    );
    expect(
      code(
        await as("CompleteLifecycleActivity", {
          LifecycleActivityId: "la-missing",
          LifecycleActivityPolicy: "CONTINUE",
        }),
      ),
    ).toBe("InvalidLifecycleActivityId.NotFound");
  });

  it("enables a group only with an active configuration, and keeps that configuration while the group is enabled", async () => {
    await start();
    const w = await world();
    const groupId = ok(
      await as("CreateScalingGroup", {
        ScalingGroupName: "g",
        SubnetIds: [w.subnetId],
        MinInstanceNumber: 0,
        MaxInstanceNumber: 1,
      }),
    ).ScalingGroupId;
    expect(code(await as("EnableScalingGroup", { ScalingGroupId: groupId }))).toBe(
      "InvalidScalingGroup.NoActiveScalingConfiguration",
    );
    ok(await as("DeleteScalingGroup", { ScalingGroupId: groupId }));
    const made = await group(w, { DesireInstanceNumber: 0 });
    expect(ok(await as("EnableScalingGroup", { ScalingGroupId: made.groupId }))).toEqual({
      ScalingGroupId: made.groupId,
    });
    expect(code(await as("DeleteScalingConfiguration", { ScalingConfigurationId: made.configId }))).toBe(
      "InvalidOperation.ScalingConfigurationInUse",
    );
    ok(await as("DisableScalingGroup", { ScalingGroupId: made.groupId }));
    ok(await as("DeleteScalingConfiguration", { ScalingConfigurationId: made.configId }));
  });
});

describe("local cloud: an enabled group's instances", () => {
  it("launches through ECS and its booter, holds each new instance at the SCALE_OUT hook, and admits it to the server group on CONTINUE", async () => {
    await start();
    const w = await world();
    const { groupId, configId } = await group(w, { DesireInstanceNumber: 2 });
    await hook(groupId, "SCALE_OUT", "REJECT");
    ok(await as("EnableScalingGroup", { ScalingGroupId: groupId }));
    const launched = await instances(groupId);
    expect(launched.map((i) => [i.Status, i.ScalingConfigurationId, i.CreationType])).toEqual([
      ["Pending", configId, "AutoCreated"],
      ["Pending", configId, "AutoCreated"],
    ]);
    expect((await ecsIds()).sort()).toEqual(launched.map((i) => i.InstanceId).sort());
    expect(
      booted.map(([what, r]) => [what, (r as BootRequest).userData, (r as BootRequest).publicKeys.length]),
    ).toEqual([
      ["run", USER_DATA, 1],
      ["run", USER_DATA, 1],
    ]);
    later(); // ECS: CREATING → RUNNING; the hook holds them
    expect((await instances(groupId)).map((i) => i.Status)).toEqual(["Pending:Wait", "Pending:Wait"]);
    expect(await servers(w.serverGroupId)).toEqual([]);
    const [first, second] = launched.map((i) => i.InstanceId as string);
    const [activity] = await waiting(first!);
    expect(activity).toMatchObject({
      InstanceId: first,
      LifecycleHookPolicy: "REJECT",
      LifecycleActivityStatus: "Waiting",
    });
    expect(
      ok(
        await as("CompleteLifecycleActivity", {
          LifecycleActivityId: activity.LifecycleActivityId,
          LifecycleActivityPolicy: "CONTINUE",
        }),
      ),
    ).toEqual({ InstanceId: first, LifecycleActivityId: activity.LifecycleActivityId });
    expect(
      code(
        await as("CompleteLifecycleActivity", {
          LifecycleActivityId: activity.LifecycleActivityId,
          LifecycleActivityPolicy: "CONTINUE",
        }),
      ),
    ).toBe("InvalidOperation.LifecycleActivityFinished");
    const ip = ok(await call("ecs", "DescribeInstances", { InstanceIds: [first] })).Instances[0].NetworkInterfaces[0]
      .PrimaryIpAddress;
    expect((await servers(w.serverGroupId)).map((s) => [s.InstanceId, s.Ip, s.Port, s.Weight, s.Type])).toEqual([
      [first, ip, 80, 50, "ecs"],
    ]);
    // REJECT releases the other one (ECS delete, booter remove); the group launches a replacement for it.
    const [other] = await waiting(second!);
    ok(
      await as("CompleteLifecycleActivity", {
        LifecycleActivityId: other.LifecycleActivityId,
        LifecycleActivityPolicy: "REJECT",
      }),
    );
    expect(booted.filter(([w]) => w === "remove")).toEqual([["remove", second]]);
    const now = await instances(groupId);
    expect(now.map((i) => i.InstanceId)).not.toContain(second);
    expect(now.map((i) => i.Status).sort()).toEqual(["InService", "Pending"]);
    const activities = ok(await as("DescribeScalingActivities", { ScalingGroupId: groupId })).ScalingActivities;
    expect(activities.map((a: any) => [a.ActivityType, a.StatusCode])).toEqual([
      ["ScaleOut", "Running"],
      ["ScaleOut", "Error"],
    ]);
  });

  it("applies the hook's policy when it times out: REJECT releases the instance, CONTINUE admits it", async () => {
    await start();
    const w = await world();
    const rejecting = await group(w);
    await hook(rejecting.groupId, "SCALE_OUT", "REJECT", 30);
    ok(await as("EnableScalingGroup", { ScalingGroupId: rejecting.groupId }));
    const [held] = await instances(rejecting.groupId);
    later();
    expect((await instances(rejecting.groupId))[0]!.Status).toBe("Pending:Wait");
    later(30_000);
    const after = await instances(rejecting.groupId);
    expect(after.map((i) => i.InstanceId)).not.toContain(held!.InstanceId);
    later(); // ECS: DELETING → gone
    expect(await ecsIds()).not.toContain(held!.InstanceId);
    expect(await servers(w.serverGroupId)).toEqual([]);
    ok(await as("DisableScalingGroup", { ScalingGroupId: rejecting.groupId }));

    const continuing = await group(w, { ScalingGroupName: "todo-app-2" });
    await hook(continuing.groupId, "SCALE_OUT", "CONTINUE", 30);
    ok(await as("EnableScalingGroup", { ScalingGroupId: continuing.groupId }));
    later();
    await instances(continuing.groupId);
    later(30_000);
    const [admitted] = await instances(continuing.groupId);
    expect(admitted!.Status).toBe("InService");
    expect((await servers(w.serverGroupId)).map((s) => s.InstanceId)).toEqual([admitted!.InstanceId]);
  });

  it("scales in by taking the instance out of the server group first, then holding it at the SCALE_IN hook", async () => {
    await start();
    const w = await world();
    const { groupId } = await group(w, { DesireInstanceNumber: 2, InstanceTerminatePolicy: "OldestInstance" });
    await hook(groupId, "SCALE_IN", "CONTINUE");
    ok(await as("EnableScalingGroup", { ScalingGroupId: groupId }));
    later();
    const ids = (await instances(groupId)).map((i) => i.InstanceId as string);
    expect((await servers(w.serverGroupId)).length).toBe(2);
    ok(await as("ModifyScalingGroup", { ScalingGroupId: groupId, DesireInstanceNumber: 1 }));
    // The oldest leaves the server group before anything else happens to it.
    expect((await servers(w.serverGroupId)).map((s) => s.InstanceId)).toEqual([ids[1]]);
    expect((await instances(groupId)).map((i) => [i.InstanceId, i.Status])).toEqual([
      [ids[0], "Removing:Wait"],
      [ids[1], "InService"],
    ]);
    expect(booted.filter(([what]) => what === "remove")).toEqual([]);
    const [activity] = await waiting(ids[0]!);
    ok(
      await as("CompleteLifecycleActivity", {
        LifecycleActivityId: activity.LifecycleActivityId,
        LifecycleActivityPolicy: "CONTINUE",
      }),
    );
    expect(booted.filter(([what]) => what === "remove")).toEqual([["remove", ids[0]]]);
    expect((await instances(groupId)).map((i) => i.InstanceId)).toEqual([ids[1]]);
  });

  it("deleting a group releases its instances (default answer)", async () => {
    await start();
    const w = await world();
    const { groupId, configId } = await group(w);
    ok(await as("EnableScalingGroup", { ScalingGroupId: groupId }));
    later();
    const [one] = await instances(groupId);
    ok(await as("DisableScalingGroup", { ScalingGroupId: groupId }));
    ok(await as("DeleteScalingConfiguration", { ScalingConfigurationId: configId }));
    ok(await as("DeleteScalingGroup", { ScalingGroupId: groupId }));
    expect(booted.filter(([what]) => what === "remove")).toEqual([["remove", one!.InstanceId]]);
    expect(await servers(w.serverGroupId)).toEqual([]);
    later();
    expect(await ecsIds()).toEqual([]);
  });
});

describe("local cloud: Auto Scaling under each answer to its open questions", () => {
  it("scalingHookServerGroup=before-hook: a held instance is in the server group already, and REJECT takes it out", async () => {
    await start({ scalingHookServerGroup: "before-hook" });
    const w = await world();
    const { groupId } = await group(w);
    await hook(groupId, "SCALE_OUT", "REJECT");
    ok(await as("EnableScalingGroup", { ScalingGroupId: groupId }));
    later();
    const [held] = await instances(groupId);
    expect(held!.Status).toBe("Pending:Wait");
    expect((await servers(w.serverGroupId)).map((s) => s.InstanceId)).toEqual([held!.InstanceId]);
    const [activity] = await waiting(held!.InstanceId);
    ok(
      await as("CompleteLifecycleActivity", {
        LifecycleActivityId: activity.LifecycleActivityId,
        LifecycleActivityPolicy: "REJECT",
      }),
    );
    expect((await servers(w.serverGroupId)).map((s) => s.InstanceId)).not.toContain(held!.InstanceId);
  });

  it("scalingGroupDelete=refused: a group that holds instances is deleted only once it is empty", async () => {
    await start({ scalingGroupDelete: "refused" });
    const w = await world();
    const { groupId } = await group(w);
    ok(await as("EnableScalingGroup", { ScalingGroupId: groupId }));
    later();
    expect(code(await as("DeleteScalingGroup", { ScalingGroupId: groupId }))).toBe(
      "InvalidOperation.ScalingGroupHasInstances",
    );
    ok(await as("ModifyScalingGroup", { ScalingGroupId: groupId, DesireInstanceNumber: 0 }));
    expect(await instances(groupId)).toEqual([]);
    ok(await as("DisableScalingGroup", { ScalingGroupId: groupId }));
    ok(await as("DeleteScalingGroup", { ScalingGroupId: groupId }));
  });
});
