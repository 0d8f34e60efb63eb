/**
 * A cluster's whole synthesized JSON as one digest (fixtures/cluster-digests.json, written by
 * capture-cluster-digests.ts): what an environment without a new option must keep byte for byte.
 * The synth folder's path (where the fake release lies) and the checkout's (the local state file)
 * are replaced, so the digest depends on the stack alone.
 */
import { createHash } from "node:crypto";
import { ADDRESS_VARIANTS } from "./address-variants.js";
import { projectRoot, type TfJson } from "./synth-helpers.js";

export const CLUSTER_DIGEST_VARIANTS: Record<string, Record<string, unknown>> = Object.fromEntries(
  Object.entries(ADDRESS_VARIANTS).filter(([name]) => name.startsWith("cluster")),
);

/** `synthDir`: where the release of the synth lies (the synth's folder unless one was passed). */
export function normalizedStack(tf: TfJson, synthDir: string): string {
  return JSON.stringify(tf, null, 1).split(synthDir).join("<synth>").split(projectRoot).join("<project>");
}

export function stackDigest(tf: TfJson, synthDir: string): string {
  return createHash("sha256").update(normalizedStack(tf, synthDir)).digest("hex");
}
