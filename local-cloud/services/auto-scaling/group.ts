import { page, type Action, type Call } from "../../api.js";
import { ApiError, invalid, missing, notFound } from "../../errors.js";
import { list, required, str, strings, tags, type Params } from "../../params.js";
import { checkName } from "../../rules.js";
import type { Resource } from "../../store.js";
import { checkCounts, conflict, getGroup, intIn, KIND, members, timestamp } from "./common.js";
import { joinServerGroups, leaveServerGroups, release } from "./engine.js";

/**
 * Scaling groups (`auto_scaling` 2020-01-01): LifecycleState `InActive` after creation (the
 * provider waits for it), `Active` after EnableScalingGroup (which needs an active scaling
 * configuration), `InActive` again after DisableScalingGroup.
 */

const TERMINATE_POLICIES = [
  "OldestInstance",
  "NewestInstance",
  "OldestScalingConfigurationWithOldestInstance",
  "OldestScalingConfigurationWithNewestInstance",
];

/** ServerGroupAttributes.N: server groups of a CLB in the scaling group's VPC; answered with their load balancer. */
function serverGroupAttributes(call: Call, vpcId: unknown): Record<string, unknown>[] {
  return (list(call.params, "ServerGroupAttributes") as Params[]).map((a) => {
    const id = required(a, "ServerGroupId");
    const sg = call.store.get("clb-server-group", id);
    if (!sg) throw notFound("server group", id).withCode("InvalidServerGroup.NotFound");
    if (sg.fields.VpcId !== vpcId)
      throw invalid("ServerGroupAttributes.ServerGroupId", `the server group ${id} is not in the scaling group's VPC`);
    const port = Number(required(a, "Port"));
    const weight = Number(required(a, "Weight"));
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalid("ServerGroupAttributes.Port", "1-65535");
    if (!Number.isInteger(weight) || weight < 0 || weight > 100) throw invalid("ServerGroupAttributes.Weight", "0-100");
    return { ServerGroupId: id, LoadBalancerId: sg.fields.LoadBalancerId, Port: port, Weight: weight };
  });
}

function subnetsOf(call: Call): { ids: string[]; vpcId: unknown } {
  const ids = strings(call.params, "SubnetIds");
  if (ids.length === 0) throw missing("SubnetIds.1");
  const subnets = ids.map((id) => {
    const s = call.store.get("subnet", id);
    if (!s) throw notFound("subnet", id).withCode("InvalidSubnet.NotFound");
    return s;
  });
  const vpcId = subnets[0]!.fields.VpcId;
  if (subnets.some((s) => s.fields.VpcId !== vpcId)) throw invalid("SubnetIds", "the subnets are not in one VPC");
  return { ids, vpcId };
}

const CreateScalingGroup: Action = (call) => {
  const name = required(call.params, "ScalingGroupName");
  checkName(name, "ScalingGroupName");
  if (call.store.all(KIND.group).some((g) => g.fields.ScalingGroupName === name))
    throw conflict("InvalidScalingGroupName.Duplicate", `A scaling group named ${name} exists.`);
  if (str(call.params, "LaunchTemplateId"))
    throw invalid("LaunchTemplateId", "the stand-in models scaling configurations, not launch templates");
  const min = intIn(call, "MinInstanceNumber", 0, 2000);
  const max = intIn(call, "MaxInstanceNumber", 0, 2000);
  if (min === undefined) throw missing("MinInstanceNumber");
  if (max === undefined) throw missing("MaxInstanceNumber");
  const desired = intIn(call, "DesireInstanceNumber", -1, 2000) ?? -1;
  checkCounts(min, max, desired);
  const policy = str(call.params, "InstanceTerminatePolicy") ?? "OldestScalingConfigurationWithOldestInstance";
  if (!TERMINATE_POLICIES.includes(policy)) throw invalid("InstanceTerminatePolicy", TERMINATE_POLICIES.join(", "));
  const multiAz = str(call.params, "MultiAZPolicy") ?? "PRIORITY";
  if (!["PRIORITY", "BALANCE"].includes(multiAz)) throw invalid("MultiAZPolicy", "PRIORITY or BALANCE");
  const { ids, vpcId } = subnetsOf(call);
  const id = call.store.newId("scg");
  call.store.create(KIND.group, id, {
    ScalingGroupId: id,
    ScalingGroupName: name,
    VpcId: vpcId,
    SubnetIds: ids,
    MinInstanceNumber: min,
    MaxInstanceNumber: max,
    DesireInstanceNumber: desired,
    DefaultCooldown: intIn(call, "DefaultCooldown", 5, 86400) ?? 300,
    InstanceTerminatePolicy: policy,
    MultiAZPolicy: multiAz,
    ServerGroupAttributes: serverGroupAttributes(call, vpcId),
    DBInstanceIds: strings(call.params, "DBInstanceIds"),
    LifecycleState: "InActive",
    ActiveScalingConfigurationId: "",
    LaunchTemplateId: "",
    LaunchTemplateVersion: "",
    LaunchTemplateOverrides: [],
    ScalingMode: str(call.params, "ScalingMode") ?? "release",
    HealthCheckType: "NONE",
    LoadBalancerHealthCheckGracePeriod: 0,
    StoppedInstanceCount: 0,
    ProjectName: str(call.params, "ProjectName") ?? "default",
    Tags: tags(call.params),
    CreatedAt: timestamp(call),
    UpdatedAt: timestamp(call),
  });
  return { ScalingGroupId: id };
};

const describe = (call: Call, g: Resource) => {
  const visible = Object.fromEntries(Object.entries(g.fields).filter(([k]) => !k.startsWith("_")));
  return { ...visible, TotalInstanceCount: members(call, g.id).length };
};

const DescribeScalingGroups: Action = (call) => {
  const ids = strings(call.params, "ScalingGroupIds");
  const names = strings(call.params, "ScalingGroupNames");
  const found = call.store
    .all(KIND.group)
    .filter(
      (g) =>
        (ids.length === 0 || ids.includes(g.id)) &&
        (names.length === 0 || names.includes(String(g.fields.ScalingGroupName))),
    );
  return page(
    found.map((g) => describe(call, g)),
    call.params,
    "ScalingGroups",
  );
};

const ModifyScalingGroup: Action = (call) => {
  const g = getGroup(call);
  const f = g.fields;
  const changes: Record<string, unknown> = { UpdatedAt: timestamp(call) };
  const name = str(call.params, "ScalingGroupName");
  if (name !== undefined) {
    checkName(name, "ScalingGroupName");
    changes.ScalingGroupName = name;
  }
  const min = intIn(call, "MinInstanceNumber", 0, 2000) ?? Number(f.MinInstanceNumber);
  const max = intIn(call, "MaxInstanceNumber", 0, 2000) ?? Number(f.MaxInstanceNumber);
  const desired = intIn(call, "DesireInstanceNumber", -1, 2000) ?? Number(f.DesireInstanceNumber);
  checkCounts(min, max, desired);
  Object.assign(changes, { MinInstanceNumber: min, MaxInstanceNumber: max, DesireInstanceNumber: desired });
  if (call.params.SubnetIds !== undefined) changes.SubnetIds = subnetsOf(call).ids;
  const cooldown = intIn(call, "DefaultCooldown", 5, 86400);
  if (cooldown !== undefined) changes.DefaultCooldown = cooldown;
  const policy = str(call.params, "InstanceTerminatePolicy");
  if (policy !== undefined) {
    if (!TERMINATE_POLICIES.includes(policy)) throw invalid("InstanceTerminatePolicy", TERMINATE_POLICIES.join(", "));
    changes.InstanceTerminatePolicy = policy;
  }
  const multiAz = str(call.params, "MultiAZPolicy");
  if (multiAz !== undefined) {
    if (!["PRIORITY", "BALANCE"].includes(multiAz)) throw invalid("MultiAZPolicy", "PRIORITY or BALANCE");
    changes.MultiAZPolicy = multiAz;
  }
  call.store.update(g, changes);
  return { ScalingGroupId: g.id };
};

const EnableScalingGroup: Action = (call) => {
  const g = getGroup(call);
  if (!g.fields.ActiveScalingConfigurationId)
    throw new ApiError(
      400,
      "InvalidScalingGroup.NoActiveScalingConfiguration",
      `The scaling group ${g.id} has no active scaling configuration (EnableScalingConfiguration).`,
    );
  call.store.update(g, { LifecycleState: "Active", _RetryAfter: 0, UpdatedAt: timestamp(call) });
  return { ScalingGroupId: g.id };
};

/** A disabled group starts no scaling activity; its instances stay. */
const DisableScalingGroup: Action = (call) => {
  const g = getGroup(call);
  call.store.update(g, { LifecycleState: "InActive", UpdatedAt: timestamp(call) });
  return { ScalingGroupId: g.id };
};

/**
 * Whether a group that still holds instances can be deleted is an open question (answers.ts,
 * scalingGroupDelete): "releases-instances" releases them with the group; "refused" asks for an
 * empty group first.
 */
const DeleteScalingGroup: Action = (call) => {
  const g = getGroup(call);
  const held = call.store.all(KIND.instance).filter((i) => i.fields.ScalingGroupId === g.id);
  if (held.length > 0 && call.store.answers.scalingGroupDelete === "refused")
    throw conflict(
      "InvalidOperation.ScalingGroupHasInstances",
      `The scaling group ${g.id} still holds ${held.length} instance(s).`,
    );
  for (const i of held) release(call, i, "Success");
  // Its configurations, hooks and the records of its activities go with it.
  for (const kind of [KIND.configuration, KIND.hook, KIND.activity, KIND.lifecycleActivity])
    for (const r of call.store.all(kind))
      if ((r.fields.ScalingGroupId ?? r.fields._GroupId) === g.id) call.store.delete(r);
  call.store.delete(g);
  return { ScalingGroupId: g.id };
};

const AttachServerGroups: Action = (call) => {
  const g = getGroup(call);
  const added = serverGroupAttributes(call, g.fields.VpcId);
  const existing = g.fields.ServerGroupAttributes as Record<string, unknown>[];
  for (const a of added)
    if (existing.some((e) => e.ServerGroupId === a.ServerGroupId))
      throw conflict("InvalidParameter.ServerGroupExist", `The server group ${String(a.ServerGroupId)} is attached.`);
  call.store.update(g, { ServerGroupAttributes: [...existing, ...added] });
  for (const i of members(call, g.id)) if (i.fields.Status === "InService") joinServerGroups(call, g, i.id);
  return { ScalingGroupId: g.id };
};

const DetachServerGroups: Action = (call) => {
  const g = getGroup(call);
  const ids = (list(call.params, "ServerGroupAttributes") as Params[]).map((a) => required(a, "ServerGroupId"));
  if (ids.length === 0) throw missing("ServerGroupAttributes.1.ServerGroupId");
  const existing = g.fields.ServerGroupAttributes as Record<string, unknown>[];
  call.store.update(g, { ServerGroupAttributes: existing.filter((e) => !ids.includes(String(e.ServerGroupId))) });
  for (const i of call.store.all(KIND.instance).filter((x) => x.fields.ScalingGroupId === g.id))
    leaveServerGroups(call, i.id, ids);
  return { ScalingGroupId: g.id };
};

export const groupActions = {
  CreateScalingGroup,
  DescribeScalingGroups,
  ModifyScalingGroup,
  EnableScalingGroup,
  DisableScalingGroup,
  DeleteScalingGroup,
  AttachServerGroups,
  DetachServerGroups,
};
