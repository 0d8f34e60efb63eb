import { runSmoke } from "../../scripts/smoke.js";
import type { StepLog } from "./steps.js";

/**
 * The project's smoke test (scripts/smoke.ts: what a mobile client does — register, log in,
 * create/list/complete/delete a todo, refresh, log out) against the rehearsal server's Nginx.
 */
export async function runSmokeTest(baseUrl: string, log: StepLog): Promise<void> {
  const result = await runSmoke(baseUrl, {
    report: (step) =>
      log.info(`${step.ok ? "ok  " : "FAIL"} ${step.name} (${step.ms} ms)${step.detail ? `: ${step.detail}` : ""}`),
  });
  if (!result.ok) {
    const failed = result.steps.filter((s) => !s.ok).map((s) => s.name);
    throw new Error(`smoke test failed: ${failed.join(", ")}`);
  }
}
