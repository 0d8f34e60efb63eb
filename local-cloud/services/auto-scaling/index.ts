import type { Action, Service } from "../../api.js";
import { configurationActions } from "./configuration.js";
import { reconcile } from "./engine.js";
import { groupActions } from "./group.js";
import { lifecycleHookActions } from "./lifecycle-hook.js";
import { runtimeActions } from "./runtime.js";

/**
 * The `auto_scaling` service (2020-01-01, query GET, the provider's `getUniversalInfo`): scaling
 * groups, configurations, lifecycle hooks, and the instances and activities of a running group.
 * Every call brings the groups up to date before it runs (what time decided: an instance now
 * running, a hook timed out) and after (what the call started: EnableScalingGroup launches at once).
 */
const actions: Record<string, Action> = {
  ...groupActions,
  ...configurationActions,
  ...lifecycleHookActions,
  ...runtimeActions,
};

export const autoScalingService: Service = Object.fromEntries(
  Object.entries(actions).map(([name, action]) => [
    name,
    (call) => {
      reconcile(call);
      const result = action(call);
      reconcile(call);
      return result;
    },
  ]),
);
