/** Rewrites fixtures/addresses.json from the current code (see address-variants.ts). */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { ADDRESS_VARIANTS, addressesOf } from "./address-variants.js";
import { cleanupSynthDirs, projectRoot, synth } from "./synth-helpers.js";

const out: Record<string, string[]> = {};
for (const [variant, env] of Object.entries(ADDRESS_VARIANTS)) {
  const result = await synth({ environments: { v: env } });
  out[variant] = addressesOf(result.stacks["todo-api-v"]!);
}
cleanupSynthDirs();
const file = path.join(projectRoot, "test/infra/fixtures/addresses.json");
writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
console.log(`wrote ${file}`);
