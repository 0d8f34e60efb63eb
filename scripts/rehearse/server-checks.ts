import type { Container } from "./container.js";
import type { StepLog } from "./steps.js";

/** Checks run inside the rehearsal server, as an operator logged in over SSH would. */

/** Waits for systemd to finish starting up; every unit must have started (nothing "degraded"). */
export async function expectSystemRunning(box: Container, log: StepLog): Promise<void> {
  const state = (await box.exec("systemctl is-system-running --wait", { allowFailure: true, timeoutMs: 300_000 })).stdout.trim();
  log.info(`systemd: ${state}`);
  if (state !== "running") {
    const failed = await box.exec("systemctl --failed --no-pager --no-legend; journalctl -b --no-pager -p err -n 40", {
      allowFailure: true,
    });
    throw new Error(`the system is "${state}", not "running":\n${failed.output}`);
  }
}

export async function expectActive(box: Container, units: string[]): Promise<void> {
  const result = await box.exec(`systemctl is-active ${units.join(" ")}`, { allowFailure: true });
  const states = result.stdout.trim().split("\n");
  const inactive = units.filter((_, i) => states[i] !== "active");
  if (inactive.length > 0) {
    const detail = await box.exec(`systemctl status --no-pager -n 20 ${inactive.join(" ")}`, { allowFailure: true });
    throw new Error(`not active: ${inactive.join(", ")}\n${detail.output}`);
  }
}

export interface ReleaseStatus {
  current: string;
  previous: string;
  text: string;
}

export async function releaseStatus(box: Container): Promise<ReleaseStatus> {
  const result = await box.exec("todo-release status", { allowFailure: true });
  const field = (name: string) => new RegExp(`^${name}:\\s*(\\S+)`, "m").exec(result.stdout)?.[1] ?? "";
  if (result.code !== 0) throw new Error(`todo-release status exited ${result.code}:\n${result.output}`);
  return { current: field("current"), previous: field("previous"), text: result.stdout.trim() };
}
