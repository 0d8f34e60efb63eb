import type { Construct } from "constructs";
import { SecurityGroupRule } from "../../.gen/providers/volcengine/security-group-rule/index.js";
import { apiDescription } from "./description.js";
import { movedFromLegacyId } from "./rule-ids.js";

/**
 * "All outbound" as two rules, every protocol to 0.0.0.0/1 and to 128.0.0.0/1, never one rule to
 * 0.0.0.0/0. Whether Volcengine gives a new security group a default egress rule (every protocol
 * to 0.0.0.0/0) is not documented; if it does, a rule of the stack with the same fields is refused
 * as a duplicate and the first apply fails. Two halves cannot be the same rule as a default one,
 * whatever fields the API compares, and together allow exactly what 0.0.0.0/0 allows, with or
 * without a default rule beside them.
 */
export const EGRESS_HALVES = ["0.0.0.0/1", "128.0.0.0/1"] as const;

/**
 * The two egress rules of a group, `<prefix>-lower-half` and `<prefix>-upper-half`. An environment
 * made by an earlier version holds one rule at `<prefix>` (0.0.0.0/0); it moves to the lower half,
 * which is replaced create-before-destroy, and the upper half depends on it, so Terraform creates
 * both halves before it revokes the old rule: the group is never without egress during the upgrade,
 * and a failed create leaves the old rule in place.
 */
export function egressEverywhere(scope: Construct, prefix: string, securityGroupId: string, why: string): void {
  const rule = (half: "lower" | "upper", cidrIp: string, extra: Partial<{ dependsOn: SecurityGroupRule[] }>) =>
    new SecurityGroupRule(scope, `${prefix}-${half}-half`, {
      securityGroupId,
      direction: "egress",
      protocol: "all",
      portStart: -1,
      portEnd: -1,
      cidrIp,
      policy: "accept",
      priority: 1,
      description: apiDescription(why),
      lifecycle: { createBeforeDestroy: true },
      ...extra,
    });
  const lower = rule("lower", EGRESS_HALVES[0], {});
  movedFromLegacyId(lower, prefix);
  rule("upper", EGRESS_HALVES[1], { dependsOn: [lower] });
}
