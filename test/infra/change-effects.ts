/**
 * What Terraform does to the resources that matter when the configuration changes, computed from
 * two synthesized stacks and the provider's ForceNew facts (infra/stacks/replacement.ts): a
 * resource whose identity differs is replaced, one that is gone is destroyed. docs/deploy.md's
 * change table is checked against this (change-table.test.ts).
 */
import { addressesOf, canonical, identityOf } from "../../infra/stacks/replacement.js";
import type { TfJson } from "./synth-helpers.js";

/** The resources the table speaks of, by the word it uses for them. */
export const KINDS: Record<string, string> = {
  volcengine_ecs_instance: "server",
  volcengine_rds_postgresql_instance: "RDS",
  volcengine_subnet: "subnet",
  volcengine_vpc: "VPC",
  volcengine_clb: "load balancer",
  volcengine_nat_gateway: "NAT",
  volcengine_eip_address: "EIP",
  volcengine_tos_bucket: "bucket",
};

export interface ChangeEffects {
  replaced: string[];
  destroyed: string[];
}

/** Kinds (table words) replaced or destroyed going from `before` to `after`. */
export function changeEffects(before: TfJson, after: TfJson): ChangeEffects {
  const replaced = new Set<string>();
  const destroyed = new Set<string>();
  for (const [type, word] of Object.entries(KINDS)) {
    for (const address of addressesOf(before, type)) {
      const now = identityOf(after, address);
      if (now === undefined) destroyed.add(word);
      else if (canonical(now) !== canonical(identityOf(before, address))) replaced.add(word);
    }
  }
  return { replaced: [...replaced].sort(), destroyed: [...destroyed].sort() };
}
