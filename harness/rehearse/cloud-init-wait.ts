import { setTimeout as sleep } from "node:timers/promises";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Container } from "./container.js";

export interface CloudInitResult {
  status: string;
  detail: string;
}

/**
 * Waits until cloud-init has finished inside the container (the same end state
 * `cloud-init status --wait` waits for), echoing new lines of /var/log/cloud-init-output.log so
 * a long first boot shows its progress. Throws if cloud-init reports an error or the deadline passes.
 */
export async function waitForCloudInit(
  container: Container,
  timeoutMs: number,
  echo: (line: string) => void,
): Promise<CloudInitResult> {
  const deadline = Date.now() + timeoutMs;
  const outputLog = join(container.root, "var/log/cloud-init-output.log");
  let printed = 0;
  const follow = async () => {
    const text = await readFile(outputLog, "utf8").catch(() => "");
    const complete = text.slice(0, text.lastIndexOf("\n") + 1);
    if (complete.length > printed) {
      for (const line of complete.slice(printed).split("\n").slice(0, -1)) echo(line);
      printed = complete.length;
    }
  };
  for (;;) {
    await follow();
    if (!container.running) throw new Error("the container stopped while cloud-init was running");
    const probe = await container.exec("cloud-init status --long", { allowFailure: true, timeoutMs: 30_000 });
    const status = /^status:\s*(\S+)/m.exec(probe.stdout)?.[1] ?? "unknown";
    if (status === "done" || status === "error" || status === "disabled" || status === "degraded") {
      // `--wait` now returns at once; run it as the documented way to ask, and keep its answer.
      const final = await container.exec("cloud-init status --wait --long", { allowFailure: true, timeoutMs: 60_000 });
      await follow();
      const finalStatus = /^status:\s*(\S+)/m.exec(final.stdout)?.[1] ?? status;
      if (finalStatus !== "done") {
        throw new Error(`cloud-init finished with status "${finalStatus}":\n${final.output.trim()}`);
      }
      return { status: finalStatus, detail: final.output.trim() };
    }
    if (Date.now() > deadline) throw new Error(`cloud-init still "${status}" after ${timeoutMs / 1000} s`);
    await sleep(2_000);
  }
}
