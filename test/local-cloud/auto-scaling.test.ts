import { afterEach, describe, expect, it } from "vitest";
import { as, cloud, close, code, group, hook, ok, start, USER_DATA, world } from "./auto-scaling-support.js";

/**
 * The stand-in's Auto Scaling resources through the signed API, as provider 0.0.196 manages them:
 * groups, configurations and hooks, their rules, and bad input.
 */
afterEach(close);

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
