import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { StepLog } from "./steps.js";

/**
 * Runs the project's smoke test (scripts/smoke.ts: what a mobile client does — register, login,
 * create/list/complete/delete a todo, refresh, logout) against the rehearsal server's Nginx.
 */
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "../..");

export async function runSmokeTest(baseUrl: string, log: StepLog): Promise<void> {
  const module = join(repoRoot, "scripts/smoke.ts");
  if (!existsSync(module)) throw new Error("scripts/smoke.ts does not exist yet");
  const smoke = (await import(module)) as Record<string, unknown>;
  const fn = smoke.runSmoke ?? smoke.smokeTest ?? smoke.smoke;
  if (typeof fn !== "function") throw new Error(`scripts/smoke.ts exports no smoke function (has: ${Object.keys(smoke).join(", ")})`);
  const result: unknown = await fn(baseUrl);
  log.info(`smoke test: ${JSON.stringify(result) ?? "ok"}`);
}
