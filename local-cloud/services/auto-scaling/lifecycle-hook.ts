import { page, type Action, type Call } from "../../api.js";
import { invalid } from "../../errors.js";
import { required, str, strings, type Params } from "../../params.js";
import { checkName } from "../../rules.js";
import { conflict, getGroup, getHook, intIn, KIND } from "./common.js";
import { completeLifecycleActivity } from "./engine.js";

/**
 * Lifecycle hooks: SCALE_OUT holds a new instance in `Pending:Wait`, SCALE_IN a leaving one in
 * `Removing:Wait`, for LifecycleHookTimeout seconds (30-21,600) or until CompleteLifecycleActivity;
 * at the timeout the hook's LifecycleHookPolicy applies (engine.ts).
 */

const TYPES = ["SCALE_OUT", "SCALE_IN"];
const POLICIES = ["CONTINUE", "REJECT", "ROLLBACK"];

function checked(call: Call, name: string, allowed: string[], value = str(call.params, name)): string | undefined {
  if (value !== undefined && !allowed.includes(value)) throw invalid(name, allowed.join(", "));
  return value;
}

/** `LifecycleCommand.CommandId` / `.Parameters`: a Cloud Assistant command the hook runs (stored, never run here). */
function command(call: Call): Record<string, unknown> | undefined {
  const c = call.params.LifecycleCommand as Params | undefined;
  if (!c || !str(c, "CommandId")) return undefined;
  return { CommandId: str(c, "CommandId"), Parameters: str(c, "Parameters") ?? "" };
}

const CreateLifecycleHook: Action = (call) => {
  const group = getGroup(call);
  const name = required(call.params, "LifecycleHookName");
  checkName(name, "LifecycleHookName");
  if (
    call.store.all(KIND.hook).some((h) => h.fields.ScalingGroupId === group.id && h.fields.LifecycleHookName === name)
  )
    throw conflict("InvalidLifecycleHookName.Duplicate", `The scaling group ${group.id} has a hook named ${name}.`);
  const timeout = intIn(call, "LifecycleHookTimeout", 30, 21600);
  if (timeout === undefined) required(call.params, "LifecycleHookTimeout");
  const id = call.store.newId("lh");
  call.store.create(KIND.hook, id, {
    LifecycleHookId: id,
    LifecycleHookName: name,
    ScalingGroupId: group.id,
    LifecycleHookType: checked(call, "LifecycleHookType", TYPES, required(call.params, "LifecycleHookType")),
    LifecycleHookPolicy: checked(call, "LifecycleHookPolicy", POLICIES, required(call.params, "LifecycleHookPolicy")),
    LifecycleHookTimeout: timeout,
    ...(command(call) ? { LifecycleCommand: command(call) } : {}),
  });
  return { LifecycleHookId: id };
};

const DescribeLifecycleHooks: Action = (call) => {
  const ids = strings(call.params, "LifecycleHookIds");
  const groupId = str(call.params, "ScalingGroupId");
  const name = str(call.params, "LifecycleHookName");
  const found = call.store
    .all(KIND.hook)
    .filter(
      (h) =>
        (ids.length === 0 || ids.includes(h.id)) &&
        (groupId === undefined || h.fields.ScalingGroupId === groupId) &&
        (name === undefined || h.fields.LifecycleHookName === name),
    );
  return page(
    found.map((h) => h.fields),
    call.params,
    "LifecycleHooks",
  );
};

/** A new timeout or policy applies to the activities that start after the change. */
const ModifyLifecycleHook: Action = (call) => {
  const h = getHook(call);
  const changes: Record<string, unknown> = {};
  const timeout = intIn(call, "LifecycleHookTimeout", 30, 21600);
  if (timeout !== undefined) changes.LifecycleHookTimeout = timeout;
  const type = checked(call, "LifecycleHookType", TYPES);
  if (type !== undefined) changes.LifecycleHookType = type;
  const policy = checked(call, "LifecycleHookPolicy", POLICIES);
  if (policy !== undefined) changes.LifecycleHookPolicy = policy;
  if (call.params.LifecycleCommand !== undefined) changes.LifecycleCommand = command(call);
  call.store.update(h, changes);
  return { LifecycleHookId: h.id };
};

/** The instances the hook still holds move on as its policy says, as if it had timed out. */
const DeleteLifecycleHook: Action = (call) => {
  const h = getHook(call);
  call.store.delete(h);
  for (const la of call.store.all(KIND.lifecycleActivity))
    if (la.fields.LifecycleHookId === h.id && la.fields.LifecycleActivityStatus === "Waiting")
      completeLifecycleActivity(call, la, h.fields.LifecycleHookPolicy as "CONTINUE" | "REJECT" | "ROLLBACK");
  return { LifecycleHookId: h.id };
};

export const lifecycleHookActions = {
  CreateLifecycleHook,
  DescribeLifecycleHooks,
  ModifyLifecycleHook,
  DeleteLifecycleHook,
};
