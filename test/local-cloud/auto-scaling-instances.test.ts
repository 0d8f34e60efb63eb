import { afterEach, describe, expect, it } from "vitest";
import type { BootRequest } from "../../local-cloud/booter.js";
import {
  as,
  booted,
  call,
  close,
  code,
  ecsIds,
  group,
  hook,
  instances,
  later,
  ok,
  servers,
  start,
  USER_DATA,
  waiting,
  world,
} from "./auto-scaling-support.js";

/**
 * What an enabled group does with its instances in the stand-in, as the seed sees it through the
 * signed API: ECS instances through the ECS service and its booter, held by lifecycle hooks, joined
 * to and taken out of the CLB server group; under each answer to the open questions.
 */
afterEach(close);

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

  it("scales in a new instance still held at the SCALE_OUT hook at once, with no SCALE_IN hold", async () => {
    await start();
    const w = await world();
    const { groupId } = await group(w);
    await hook(groupId, "SCALE_OUT", "REJECT");
    await hook(groupId, "SCALE_IN", "CONTINUE");
    ok(await as("EnableScalingGroup", { ScalingGroupId: groupId }));
    later();
    const [held] = await instances(groupId);
    expect(held!.Status).toBe("Pending:Wait");
    ok(await as("ModifyScalingGroup", { ScalingGroupId: groupId, DesireInstanceNumber: 0 }));
    expect(await instances(groupId)).toEqual([]);
    expect(booted.filter(([what]) => what === "remove")).toEqual([["remove", held!.InstanceId]]);
    expect(await waiting(held!.InstanceId)).toEqual([]);
  });

  it("spreads a BALANCE group's instances over its subnets' zones", async () => {
    await start();
    const w = await world();
    const second = ok(
      await call("vpc", "CreateSubnet", { VpcId: w.vpcId, ZoneId: "cn-beijing-b", CidrBlock: "172.16.2.0/24" }),
    ).SubnetId;
    later();
    const { groupId } = await group(w, {
      SubnetIds: [w.subnetId, second],
      MultiAZPolicy: "BALANCE",
      DesireInstanceNumber: 3,
    });
    ok(await as("EnableScalingGroup", { ScalingGroupId: groupId }));
    expect((await instances(groupId)).map((i) => i.ZoneId)).toEqual(["cn-beijing-a", "cn-beijing-b", "cn-beijing-a"]);
  });

  it("a release that ECS refuses (an EIP on the instance) fails the activity and leaves the group working", async () => {
    await start();
    const w = await world();
    const { groupId } = await group(w);
    ok(await as("EnableScalingGroup", { ScalingGroupId: groupId }));
    later();
    const [one] = await instances(groupId);
    const eip = ok(await call("vpc", "AllocateEipAddress", { BillingType: 3, Bandwidth: 5 }));
    later();
    ok(
      await call("vpc", "AssociateEipAddress", {
        AllocationId: eip.AllocationId,
        InstanceId: one!.InstanceId,
        InstanceType: "EcsInstance",
      }),
    );
    later(); // the EIP: Attaching → Attached
    ok(await as("ModifyScalingGroup", { ScalingGroupId: groupId, DesireInstanceNumber: 0 }));
    expect(await instances(groupId)).toEqual([]);
    expect(await ecsIds()).toContain(one!.InstanceId);
    const [scaleIn] = ok(await as("DescribeScalingActivities", { ScalingGroupId: groupId })).ScalingActivities;
    expect(scaleIn).toMatchObject({ ActivityType: "ScaleIn", StatusCode: "Error" });
    expect(scaleIn.ResultMsg).toContain("InvalidOperation.EipAttached");
    ok(await as("DescribeScalingGroups", { ScalingGroupIds: [groupId] }));
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
