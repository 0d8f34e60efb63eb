import * as deploySteps from "../../contract/deploy-steps.js";
import { cloudInitOptionsSchema } from "../../cloud-init/options.js";
import type { CloudInitOptions } from "../../cloud-init/options.js";

/**
 * TEMPORARY bridge to the kit's auto-scaling options and commands (fleet interface §2–3) until
 * the kit's branch is merged: the real functions when the contract has them, else the commands
 * the interface names; `seed` and `fleet` reach the options only when the kit's schema knows them.
 */
const steps = deploySteps as unknown as Record<string, ((...a: string[]) => string[]) | undefined>;

export const publishFleetCommands = (tarball: string, sudo: string): string[] =>
  steps.publishFleetCommands?.(tarball, sudo) ?? [`${sudo} /usr/local/sbin/todo-fleet-publish ${tarball}`];

export const pointFleetCommands = (sudo: string): string[] =>
  steps.pointFleetCommands?.(sudo) ?? [`${sudo} /usr/local/sbin/todo-fleet-publish --point`];

export interface SeedOptions {
  groupId: string;
  appRoleName: string;
  region: string;
  endpoint: string;
}
export interface FleetOptions {
  bucket: string;
  region: string;
  endpoint: string;
  member: boolean;
  roleName?: string;
}

export const KIT_KNOWS_FLEET = "fleet" in (cloudInitOptionsSchema as unknown as { shape: object }).shape;

export function withFleetOptions(
  options: CloudInitOptions,
  extra: { seed?: SeedOptions; fleet?: FleetOptions },
): CloudInitOptions {
  return KIT_KNOWS_FLEET ? ({ ...options, ...extra } as CloudInitOptions) : options;
}
