/**
 * Checks every synthesized stack against the committed provider schemas — the check that runs
 * without the provider binary (`terraform validate` with the real provider runs in
 * test/infra/terraform-validate.test.ts when a mirror holds it). Run after `npx cdktf synth`:
 *
 *   npx tsx harness/terraform-schema/main.ts [cdktf.out]
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { checkTerraformJson } from "./check.js";
import { formatProblems, loadProviderSchemas } from "./schemas.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const outdir = path.resolve(process.argv[2] ?? path.join(root, "cdktf.out"));
const stacksDir = path.join(outdir, "stacks");
if (!existsSync(stacksDir)) {
  console.error(`No synthesized stacks in ${outdir}; run \`npx cdktf synth\` first.`);
  process.exit(1);
}
const schemas = loadProviderSchemas(
  path.join(root, "infra/provider/volcengine.schema.json"),
  path.join(root, "infra/provider/null.schema.json"),
);
let failed = false;
for (const stack of readdirSync(stacksDir).sort()) {
  const file = path.join(stacksDir, stack, "cdk.tf.json");
  if (!existsSync(file)) continue;
  const problems = checkTerraformJson(JSON.parse(readFileSync(file, "utf8")), schemas);
  if (problems.length === 0) {
    console.log(`${stack}: ok`);
  } else {
    failed = true;
    console.log(`${stack}: ${problems.length} problem(s)\n${formatProblems(problems).replace(/^/gm, "  ")}`);
  }
}
process.exit(failed ? 1 : 0);
