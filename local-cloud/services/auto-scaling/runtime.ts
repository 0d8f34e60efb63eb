import { page, type Action } from "../../api.js";
import { ApiError, invalid, notFound } from "../../errors.js";
import { required, str, strings } from "../../params.js";
import type { Resource } from "../../store.js";
import { getGroup, KIND } from "./common.js";
import { completeLifecycleActivity } from "./engine.js";

/**
 * What a running fleet asks of Auto Scaling (the seed of docs/auto-scaling.md): the group's
 * instances and their states, its scaling activities, the lifecycle activities waiting on a hook,
 * and CompleteLifecycleActivity.
 */

const visible = (r: Resource) => Object.fromEntries(Object.entries(r.fields).filter(([k]) => !k.startsWith("_")));

const DescribeScalingInstances: Action = (call) => {
  const group = getGroup(call);
  const ids = strings(call.params, "InstanceIds");
  const status = str(call.params, "Status");
  const config = str(call.params, "ScalingConfigurationId");
  const creation = str(call.params, "CreationType");
  const found = call.store
    .all(KIND.instance)
    .filter(
      (i) =>
        i.fields.ScalingGroupId === group.id &&
        (ids.length === 0 || ids.includes(i.id)) &&
        (status === undefined || i.fields.Status === status) &&
        (config === undefined || i.fields.ScalingConfigurationId === config) &&
        (creation === undefined || i.fields.CreationType === creation),
    );
  return page(found.map(visible), call.params, "ScalingInstances");
};

/** Newest first; StartTime/EndTime (`2006-01-02T15:04Z`, what the provider sends) bound CreatedAt. */
const DescribeScalingActivities: Action = (call) => {
  const group = getGroup(call);
  const ids = strings(call.params, "ScalingActivityIds");
  const status = str(call.params, "StatusCode");
  const bound = (name: string) => {
    const v = str(call.params, name);
    if (v === undefined) return undefined;
    const t = Date.parse(v);
    if (Number.isNaN(t)) throw invalid(name, `"${v}" is not a time`);
    return t;
  };
  const start = bound("StartTime");
  const end = bound("EndTime");
  const found = call.store
    .all(KIND.activity)
    .filter((a) => {
      const at = Date.parse(String(a.fields.CreatedAt));
      return (
        a.fields.ScalingGroupId === group.id &&
        (ids.length === 0 || ids.includes(a.id)) &&
        (status === undefined || a.fields.StatusCode === status) &&
        (start === undefined || at >= start) &&
        (end === undefined || at <= end)
      );
    })
    .reverse();
  return page(found.map(visible), call.params, "ScalingActivities");
};

/** By instance or scaling activity (one of them), optionally by status (`Waiting`, `Finished`). */
const DescribeLifecycleActivities: Action = (call) => {
  const instance = str(call.params, "InstanceId");
  const activity = str(call.params, "ScalingActivityId");
  if (instance === undefined && activity === undefined) required(call.params, "InstanceId");
  const status = str(call.params, "LifecycleActivityStatus");
  const found = call.store
    .all(KIND.lifecycleActivity)
    .filter(
      (la) =>
        (instance === undefined || la.fields.InstanceId === instance) &&
        (activity === undefined || la.fields.ScalingActivityId === activity) &&
        (status === undefined || la.fields.LifecycleActivityStatus === status),
    );
  return page(found.map(visible), call.params, "LifecycleActivities");
};

const CompleteLifecycleActivity: Action = (call) => {
  const id = required(call.params, "LifecycleActivityId");
  const la = call.store.get(KIND.lifecycleActivity, id);
  if (!la) throw notFound("lifecycle activity", id).withCode("InvalidLifecycleActivityId.NotFound");
  const policy = required(call.params, "LifecycleActivityPolicy");
  if (!["CONTINUE", "REJECT", "ROLLBACK"].includes(policy))
    throw invalid("LifecycleActivityPolicy", "CONTINUE, REJECT or ROLLBACK");
  if (la.fields.LifecycleActivityStatus !== "Waiting")
    throw new ApiError(
      409,
      "InvalidOperation.LifecycleActivityFinished",
      `The lifecycle activity ${id} has already ended.`,
    );
  completeLifecycleActivity(call, la, policy as "CONTINUE" | "REJECT" | "ROLLBACK");
  return { InstanceId: la.fields.InstanceId, LifecycleActivityId: id };
};

export const runtimeActions = {
  DescribeScalingInstances,
  DescribeScalingActivities,
  DescribeLifecycleActivities,
  CompleteLifecycleActivity,
};
