import type { Action, Service } from "../../api.js";
import { configurationActions } from "./configuration.js";
import { reconcile } from "./engine.js";
import { groupActions } from "./group.js";
import { lifecycleHookActions } from "./lifecycle-hook.js";
import { runtimeActions } from "./runtime.js";

/**
 * The `auto_scaling` service (2020-01-01, query GET, the provider's `getUniversalInfo`): scaling
 * groups, configurations, lifecycle hooks, and the instances and activities of a running group.
 * Every call first brings the groups up to date and does so again after a change (engine.ts), so
 * what a change starts (EnableScalingGroup launching instances) shows in the call's own answer's
 * aftermath, and what time decides (a hook's timeout) shows at the next call.
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
