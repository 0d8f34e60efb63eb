import type { Call } from "../../api.js";
import type { ApiError } from "../../errors.js";
import type { Resource } from "../../store.js";
import { announceForwarding } from "../clb/forwarding.js";
import { instanceActions } from "../ecs/instance.js";
import { KIND, members, timestamp } from "./common.js";

/**
 * The scaling engine: what Auto Scaling does between the calls. Like the rest of the stand-in it
 * runs no timer: every Auto Scaling call first brings each group up to date (`reconcile`), so a
 * client that polls sees the same sequence as on the real service.
 *
 * An enabled group with an active configuration is resized to its desired number (or into
 * [min, max] when it has none). A new instance is an ECS instance made through the ECS service's
 * own RunInstances (so a booter, where one is passed, boots it), `Pending` until ECS says RUNNING;
 * then each SCALE_OUT hook holds it in `Pending:Wait` with a lifecycle activity until
 * CompleteLifecycleActivity or the hook's timeout applies a policy: CONTINUE → `InService` and into
 * the CLB server groups of `ServerGroupAttributes`; REJECT or ROLLBACK → removed and released. When
 * an instance joins the server groups is an open question (answers.ts, scalingHookServerGroup).
 * Scale-in takes the instance out of the server groups first, then each SCALE_IN hook holds it in
 * `Removing:Wait`: CONTINUE or REJECT → released; ROLLBACK → back in service (and in the server
 * groups), the desired number raised by one so the group does not pick it again at once.
 */

type Policy = "CONTINUE" | "REJECT" | "ROLLBACK";

export function reconcile(call: Call): void {
  for (const la of call.store.all(KIND.lifecycleActivity))
    if (la.fields.LifecycleActivityStatus === "Waiting" && call.store.clock() >= Number(la.fields._ExpiresAt))
      completeLifecycleActivity(call, la, la.fields.LifecycleHookPolicy as Policy);
  for (const group of call.store.all(KIND.group)) {
    for (const i of call.store.all(KIND.instance).filter((x) => x.fields.ScalingGroupId === group.id))
      if (i.fields.Status === "Pending" && call.store.get("ecs-instance", i.id)?.fields.Status === "RUNNING")
        holdOrAdmit(call, group, i);
    resize(call, group);
  }
}

function resize(call: Call, group: Resource): void {
  const f = group.fields;
  if (f.LifecycleState !== "Active" || !f.ActiveScalingConfigurationId) return;
  if (call.store.clock() < Number(f._RetryAfter ?? 0)) return;
  const held = members(call, group.id);
  const desired = Number(f.DesireInstanceNumber);
  const target =
    desired >= 0 ? desired : Math.min(Math.max(held.length, Number(f.MinInstanceNumber)), Number(f.MaxInstanceNumber));
  if (held.length < target) launch(call, group, target - held.length);
  else if (held.length > target) {
    const oldestFirst = [...held].sort((a, b) => Number(a.fields._Seq) - Number(b.fields._Seq));
    const newest = /WithNewestInstance$|^NewestInstance$/.test(String(f.InstanceTerminatePolicy));
    const victims = (newest ? oldestFirst.reverse() : oldestFirst).slice(0, held.length - target);
    const activity = newActivity(call, group, "ScaleIn", victims.length);
    for (const v of victims) startRemoval(call, group, v, activity);
  }
}

let sequence = 0;

function launch(call: Call, group: Resource, count: number): void {
  const f = group.fields;
  const config = call.store.get(KIND.configuration, String(f.ActiveScalingConfigurationId));
  if (!config) return;
  const activity = newActivity(call, group, "ScaleOut", count);
  const subnets = f.SubnetIds as string[];
  const c = config.fields;
  const before = members(call, group.id).length;
  for (let n = 0; n < count; n++) {
    const subnetId = f.MultiAZPolicy === "BALANCE" ? subnets[(before + n) % subnets.length]! : subnets[0]!;
    const zoneId = call.store.get("subnet", subnetId)?.fields.ZoneId;
    const params: Record<string, unknown> = {
      ImageId: c.ImageId,
      InstanceType: (c.InstanceTypes as string[])[0],
      ZoneId: zoneId,
      InstanceName: c.InstanceName,
      HostName: c.HostName || undefined,
      Description: c.InstanceDescription || undefined,
      KeyPairName: c.KeyPairName || undefined,
      Password: c._Password,
      UserData: c.UserData || undefined,
      NetworkInterfaces: [{ SubnetId: subnetId, SecurityGroupIds: c.SecurityGroupIds }],
      Volumes: (c.Volumes as Record<string, unknown>[]).map((v) => ({
        VolumeType: v.VolumeType,
        Size: String(v.Size),
      })),
    };
    let instanceId: string;
    try {
      const result = instanceActions.RunInstances({ ...call, service: "ecs", action: "RunInstances", params }) as {
        InstanceIds: string[];
      };
      instanceId = result.InstanceIds[0]!;
    } catch (e) {
      // A launch that fails is a failed activity; the group tries again after its cooldown.
      finishActivity(call, activity, "Error", `RunInstances: ${(e as ApiError).code ?? ""} ${(e as Error).message}`);
      call.store.update(group, { _RetryAfter: call.store.clock() + Number(f.DefaultCooldown) * 1000 });
      return;
    }
    call.store.create(KIND.instance, instanceId, {
      InstanceId: instanceId,
      ScalingGroupId: group.id,
      ScalingConfigurationId: config.id,
      ScalingPolicyId: "",
      Status: "Pending",
      CreationType: "AutoCreated",
      Entrusted: true,
      ZoneId: zoneId,
      CreatedTime: timestamp(call),
      _Seq: ++sequence,
      _ActivityId: activity.id,
    });
    relate(call, activity, instanceId, "Init");
    if (call.store.answers.scalingHookServerGroup === "before-hook") joinServerGroups(call, group, instanceId);
  }
}

/** A new instance whose ECS instance runs: held by each SCALE_OUT hook, or admitted at once. */
function holdOrAdmit(call: Call, group: Resource, instance: Resource): void {
  const hooks = hooksOf(call, group.id, "SCALE_OUT");
  if (hooks.length === 0) return admit(call, group, instance);
  call.store.update(instance, { Status: "Pending:Wait" });
  for (const h of hooks) hold(call, h, instance);
}

function admit(call: Call, group: Resource, instance: Resource): void {
  call.store.update(instance, { Status: "InService" });
  joinServerGroups(call, group, instance.id);
  settleRelated(call, instance, "Success");
}

function startRemoval(call: Call, group: Resource, instance: Resource, activity: Resource): void {
  const serving = instance.fields.Status === "InService";
  // A new instance picked before it served: its SCALE_OUT hold ends, and no SCALE_IN hook holds it.
  for (const la of call.store.all(KIND.lifecycleActivity))
    if (la.fields.InstanceId === instance.id) call.store.update(la, { LifecycleActivityStatus: "Finished" });
  if (!serving) settleRelated(call, instance, "Cancelled");
  call.store.update(instance, { _ActivityId: activity.id });
  relate(call, activity, instance.id, "Init");
  leaveServerGroups(call, instance.id);
  if (!serving) return release(call, instance, "Success");
  const hooks = hooksOf(call, group.id, "SCALE_IN");
  if (hooks.length === 0) return release(call, instance, "Success");
  call.store.update(instance, { Status: "Removing:Wait" });
  for (const h of hooks) hold(call, h, instance);
}

function hold(call: Call, hook: Resource, instance: Resource): void {
  const id = call.store.newId("la");
  call.store.create(KIND.lifecycleActivity, id, {
    LifecycleActivityId: id,
    InstanceId: instance.id,
    LifecycleHookId: hook.id,
    LifecycleHookPolicy: hook.fields.LifecycleHookPolicy,
    ScalingActivityId: instance.fields._ActivityId,
    LifecycleActivityStatus: "Waiting",
    _GroupId: instance.fields.ScalingGroupId,
    _ExpiresAt: call.store.clock() + Number(hook.fields.LifecycleHookTimeout) * 1000,
  });
}

/**
 * Ends a lifecycle activity with `policy` (CompleteLifecycleActivity, the hook's timeout, or the
 * hook's deletion). The instance moves on once none of its activities waits any more.
 */
export function completeLifecycleActivity(call: Call, la: Resource, policy: Policy): void {
  call.store.update(la, { LifecycleActivityStatus: "Finished", _Result: policy });
  const instance = call.store.get(KIND.instance, String(la.fields.InstanceId));
  if (!instance) return;
  const group = call.store.get(KIND.group, String(instance.fields.ScalingGroupId));
  const mine = call.store.all(KIND.lifecycleActivity).filter((x) => x.fields.InstanceId === instance.id);
  const outcome = (p: Policy) => mine.some((x) => x.fields._Result === p);
  const waiting = mine.some((x) => x.fields.LifecycleActivityStatus === "Waiting");
  if (instance.fields.Status === "Pending:Wait") {
    // One rejection is enough to release a new instance; it is admitted when every hook continued.
    if (outcome("REJECT") || outcome("ROLLBACK")) {
      for (const x of mine) call.store.update(x, { LifecycleActivityStatus: "Finished" });
      leaveServerGroups(call, instance.id);
      release(call, instance, "Rejected");
    } else if (!waiting && group) admit(call, group, instance);
  } else if (instance.fields.Status === "Removing:Wait" && !waiting) {
    if (outcome("ROLLBACK") && group) {
      const desired = Number(group.fields.DesireInstanceNumber);
      if (desired >= 0) call.store.update(group, { DesireInstanceNumber: desired + 1 });
      call.store.update(instance, { Status: "InService" });
      joinServerGroups(call, group, instance.id);
      settleRelated(call, instance, "RolledBack");
    } else release(call, instance, "Success");
  }
}

/**
 * Out of the group and released: the ECS instance is deleted through the ECS service (and its
 * booter). If ECS refuses (an EIP someone associated with it), the instance leaves the group anyway
 * and its activity records the refusal; it stays an ordinary ECS instance.
 */
export function release(call: Call, instance: Resource, outcome: string): void {
  leaveServerGroups(call, instance.id);
  let result = outcome;
  if (call.store.get("ecs-instance", instance.id)) {
    try {
      instanceActions.DeleteInstance({
        ...call,
        service: "ecs",
        action: "DeleteInstance",
        params: { InstanceId: instance.id },
      });
    } catch (e) {
      result = `Failed: ${(e as ApiError).code ?? (e as Error).message}`;
    }
  }
  settleRelated(call, instance, result);
  call.store.delete(instance);
}

export const hooksOf = (call: Call, groupId: string, type: string) =>
  call.store.all(KIND.hook).filter((h) => h.fields.ScalingGroupId === groupId && h.fields.LifecycleHookType === type);

/** Adds the instance to every server group of the scaling group (once per group and port). */
export function joinServerGroups(call: Call, group: Resource, instanceId: string): void {
  const eni = call.store
    .all("network-interface")
    .find((n) => n.fields.InstanceId === instanceId && n.fields.Type === "primary");
  for (const a of group.fields.ServerGroupAttributes as Record<string, unknown>[]) {
    const sg = call.store.get("clb-server-group", String(a.ServerGroupId));
    if (!sg) continue;
    const servers = sg.fields.Servers as Record<string, unknown>[];
    if (servers.some((s) => s.InstanceId === instanceId && s.Port === a.Port)) continue;
    call.store.update(sg, {
      Servers: [
        ...servers,
        {
          ServerId: call.store.newId("rs"),
          InstanceId: instanceId,
          Type: "ecs",
          Ip: String(eni?.fields.PrimaryIpAddress ?? ""),
          Port: a.Port,
          Weight: a.Weight,
          Description: "",
        },
      ],
    });
    // The load balancer forwards to it now, as when a server is added through the CLB's API.
    announceForwarding(call, String(sg.fields.LoadBalancerId));
  }
}

export function leaveServerGroups(call: Call, instanceId: string, serverGroupIds?: string[]): void {
  for (const sg of call.store.all("clb-server-group")) {
    if (serverGroupIds && !serverGroupIds.includes(sg.id)) continue;
    const servers = sg.fields.Servers as Record<string, unknown>[];
    if (servers.some((s) => s.InstanceId === instanceId)) {
      call.store.update(sg, { Servers: servers.filter((s) => s.InstanceId !== instanceId) });
      announceForwarding(call, String(sg.fields.LoadBalancerId));
    }
  }
}

function newActivity(call: Call, group: Resource, type: string, count: number): Resource {
  const id = call.store.newId("sa");
  return call.store.create(KIND.activity, id, {
    ScalingActivityId: id,
    ScalingGroupId: group.id,
    ActivityType: type,
    TaskCategory: "Normal",
    StatusCode: "Running",
    ResultMsg: "",
    CreatedAt: timestamp(call),
    ExpectedRunTime: timestamp(call),
    StoppedAt: "",
    ActualAdjustInstanceNumber: count,
    CurrentInstanceNumber: members(call, group.id).length,
    MinInstanceNumber: group.fields.MinInstanceNumber,
    MaxInstanceNumber: group.fields.MaxInstanceNumber,
    Cooldown: group.fields.DefaultCooldown,
    RelatedInstances: [],
  });
}

function relate(call: Call, activity: Resource, instanceId: string, status: string): void {
  const related = activity.fields.RelatedInstances as Record<string, unknown>[];
  const operate = activity.fields.ActivityType === "ScaleOut" ? "Add" : "Remove";
  call.store.update(activity, {
    RelatedInstances: [...related, { InstanceId: instanceId, OperateType: operate, Status: status, Message: "" }],
  });
}

/** Records the instance's outcome in its activity; the activity ends when no instance of it is pending. */
function settleRelated(call: Call, instance: Resource, outcome: string): void {
  const activity = call.store.get(KIND.activity, String(instance.fields._ActivityId));
  if (!activity) return;
  const related = (activity.fields.RelatedInstances as Record<string, unknown>[]).map((r) =>
    r.InstanceId === instance.id ? { ...r, Status: outcome } : r,
  );
  call.store.update(activity, { RelatedInstances: related });
  if (related.some((r) => r.Status === "Init")) return;
  const failed = related.filter((r) => r.Status === "Rejected" || String(r.Status).startsWith("Failed"));
  if (failed.length === 0) finishActivity(call, activity, "Success", "");
  else
    finishActivity(
      call,
      activity,
      "Error",
      failed.map((r) => `${String(r.InstanceId)}: ${String(r.Status)}`).join("; "),
    );
}

function finishActivity(call: Call, activity: Resource, status: string, message: string): void {
  call.store.update(activity, { StatusCode: status, ResultMsg: message, StoppedAt: timestamp(call) });
}
