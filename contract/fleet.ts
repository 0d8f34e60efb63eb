/**
 * What the fixed servers publish in the private bucket for the servers a scaling group starts
 * (docs/auto-scaling.md), and what those read (cloud-init/lib/fleet-join.mjs spells the same names
 * out: it runs on the bare server without this module; test/cloud-init/fleet-join.test.ts holds
 * the two together).
 *
 *   fleet/current                   the pointer: JSON {release, tarballSha256, envSha256}
 *   fleet/<deploy>/release.tar.gz   the release tarball (todo-api-<release>.tar.gz)
 *   fleet/<deploy>/env              the app's settings: JSON {NAME: value} for `todo-release set-env`
 *
 * <deploy> names a release with its settings: `<release>-<first 12 hex of envSha256>`, so a deploy
 * that changes only settings is a new deploy. The pointer moves last (after the last fixed server),
 * so a rollout cut off half-way never reaches the scaled-out servers.
 */
import { RELEASE_HASH_PATTERN } from "./release.js";

export const FLEET_PREFIX = "fleet/";
export const FLEET_CURRENT_KEY = `${FLEET_PREFIX}current`;

export interface FleetPointer {
  /** The release's content hash (12 hex digits). */
  release: string;
  /** SHA-256 (hex) of the release tarball as stored. */
  tarballSha256: string;
  /** SHA-256 (hex) of the env object as stored. */
  envSha256: string;
}

const SHA256 = /^[0-9a-f]{64}$/;

export const fleetDeployName = (p: FleetPointer) => `${p.release}-${p.envSha256.slice(0, 12)}`;
export const fleetTarballKey = (p: FleetPointer) => `${FLEET_PREFIX}${fleetDeployName(p)}/release.tar.gz`;
export const fleetEnvKey = (p: FleetPointer) => `${FLEET_PREFIX}${fleetDeployName(p)}/env`;

/** The pointer's text, or an error naming what is wrong with it. */
export function parseFleetPointer(text: string): FleetPointer {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new Error("fleet/current is not JSON");
  }
  const p = v as Partial<FleetPointer>;
  if (typeof p?.release !== "string" || !RELEASE_HASH_PATTERN.test(p.release))
    throw new Error("fleet/current: release is not a release hash (12 hex digits)");
  for (const k of ["tarballSha256", "envSha256"] as const)
    if (typeof p[k] !== "string" || !SHA256.test(p[k])) throw new Error(`fleet/current: ${k} is not a SHA-256`);
  return { release: p.release, tarballSha256: p.tarballSha256!, envSha256: p.envSha256! };
}
