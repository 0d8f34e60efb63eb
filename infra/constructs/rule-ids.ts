import type { TerraformResource } from "cdktf";
import { TerraformStack } from "cdktf";
// cdktf's own logical-id function (not re-exported by the package index): the legacy addresses
// below must be computed exactly as cdktf computed them when they were created.
import { makeUniqueId } from "cdktf/lib/private/unique";

/**
 * Construct ids of security group rules, named by what the rule is (direction, port, source),
 * never by its position in a list: adding an admin CIDR must not move the HTTP rules to new
 * Terraform addresses (all rule fields are ForceNew, so a moved rule is deleted and re-created,
 * and a duplicate create may fail or the revoke of the old one may close the port).
 */
export function ruleId(prefix: string, port: number, source: string): string {
  return `${prefix}-${port}-from-${source.replace(/[./]/g, "-")}`;
}

/**
 * Declares that `resource` used to live at the construct id `legacyId` (same parent), so
 * Terraform moves its state instead of replacing it (a `moved` block; ignored by Terraform when
 * the old address is not in the state, as for a new environment).
 */
export function movedFromLegacyId(resource: TerraformResource, legacyId: string): void {
  const stack = TerraformStack.of(resource);
  const scopes = resource.node.scopes;
  const components = scopes.slice(scopes.indexOf(stack) + 1).map((c) => c.node.id);
  components[components.length - 1] = legacyId;
  resource.moveFromId(`${resource.terraformResourceType}.${makeUniqueId(components)}`);
}
