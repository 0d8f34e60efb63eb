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

/** The `moved` blocks of each stack, written as one raw list (see movedFromLegacyId). */
const movedBlocks = new WeakMap<TerraformStack, { from: string; to: string }[]>();

/**
 * Declares that `resource` used to live at the construct id `legacyId` (same parent), so
 * Terraform moves its state instead of replacing it (a `moved` block; ignored by Terraform when
 * the old address is not in the state, as for a new environment).
 *
 * Written as a raw `moved` list rather than with cdktf's `moveFromId`: for that one, cdktf's
 * synthesizer adds a check that runs `terraform version`, so `cdktf synth` (and every test that
 * synthesizes) would fail on a machine without Terraform. Terraform itself refuses `moved` blocks
 * below 1.1 at plan time, and deploying needs Terraform anyway.
 */
export function movedFromLegacyId(resource: TerraformResource, legacyId: string): void {
  const stack = TerraformStack.of(resource);
  const scopes = resource.node.scopes;
  const components = scopes.slice(scopes.indexOf(stack) + 1).map((c) => c.node.id);
  components[components.length - 1] = legacyId;
  const blocks = movedBlocks.get(stack) ?? [];
  movedBlocks.set(stack, blocks);
  blocks.push({
    from: `${resource.terraformResourceType}.${makeUniqueId(components)}`,
    to: `${resource.terraformResourceType}.${resource.friendlyUniqueId}`,
  });
  stack.addOverride("moved", [...blocks]);
}
