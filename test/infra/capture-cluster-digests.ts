/**
 * Rewrites fixtures/cluster-digests.json: the SHA-256 of each cluster variant's synthesized JSON
 * (cluster-digests.ts). Written first from the stack before `cluster.autoScaling` existed, so that
 * a cluster without the option synthesizes exactly as it did; rewrite it only for a deliberate,
 * reviewed change of what a cluster synthesizes.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { CLUSTER_DIGEST_VARIANTS, stackDigest } from "./cluster-digests.js";
import { cleanupSynthDirs, projectRoot, synth } from "./synth-helpers.js";

const out: Record<string, string> = {};
for (const [variant, env] of Object.entries(CLUSTER_DIGEST_VARIANTS)) {
  const result = await synth({ environments: { v: env } });
  out[variant] = stackDigest(result.stacks["todo-api-v"]!, result.outdir);
}
cleanupSynthDirs();
const file = path.join(projectRoot, "test/infra/fixtures/cluster-digests.json");
writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
console.log(`wrote ${file}`);
