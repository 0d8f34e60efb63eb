import type { Call } from "../../api.js";
import { ApiError, invalid, notFound } from "../../errors.js";
import { num, required } from "../../params.js";
import type { Resource } from "../../store.js";

/**
 * What the Auto Scaling calls share: the store kinds, lookups, and the API's number fields (the
 * query protocol sends strings; DescribeScaling* answers numbers, which the provider's set hashes
 * and int fields need).
 */
export const KIND = {
  group: "as-group",
  configuration: "as-configuration",
  hook: "as-lifecycle-hook",
  instance: "as-instance",
  activity: "as-activity",
  lifecycleActivity: "as-lifecycle-activity",
} as const;

/** The API's answer time: UTC, to the second, as the provider's StartTime filter is written. */
export const timestamp = (call: Call) => new Date(call.store.clock()).toISOString().replace(/\.\d+Z$/, "Z");

export function getGroup(call: Call, id = required(call.params, "ScalingGroupId")): Resource {
  const r = call.store.get(KIND.group, id);
  if (!r) throw notFound("scaling group", id).withCode("InvalidScalingGroupId.NotFound");
  return r;
}

export function getConfiguration(call: Call, id = required(call.params, "ScalingConfigurationId")): Resource {
  const r = call.store.get(KIND.configuration, id);
  if (!r) throw notFound("scaling configuration", id).withCode("InvalidScalingConfigurationId.NotFound");
  return r;
}

export function getHook(call: Call, id = required(call.params, "LifecycleHookId")): Resource {
  const r = call.store.get(KIND.hook, id);
  if (!r) throw notFound("lifecycle hook", id).withCode("InvalidLifecycleHookId.NotFound");
  return r;
}

/** An integer parameter within [min, max], or undefined when absent. */
export function intIn(call: Call, name: string, min: number, max: number): number | undefined {
  const v = num(call.params, name);
  if (v === undefined) return undefined;
  if (!Number.isInteger(v) || v < min || v > max) throw invalid(name, `${v} is outside ${min}-${max}`);
  return v;
}

/** Min ≤ desired ≤ max, as CreateScalingGroup and ModifyScalingGroup require (-1: no desired number). */
export function checkCounts(min: number, max: number, desired: number): void {
  if (min > max) throw invalid("MinInstanceNumber", `${min} exceeds MaxInstanceNumber ${max}`);
  if (desired !== -1 && (desired < min || desired > max))
    throw invalid("DesireInstanceNumber", `${desired} is outside MinInstanceNumber-MaxInstanceNumber (${min}-${max})`);
}

/** The instances a group holds that count towards its size (not those on their way out). */
export const members = (call: Call, groupId: string) =>
  call.store
    .all(KIND.instance)
    .filter((i) => i.fields.ScalingGroupId === groupId && !String(i.fields.Status).startsWith("Removing"));

export const conflict = (code: string, message: string) => new ApiError(409, code, message);
