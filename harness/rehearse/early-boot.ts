import { setTimeout as sleep } from "node:timers/promises";
import type { Container } from "./container.js";

/**
 * Boots containers one at a time through early boot, then lets them go on in parallel. The
 * containers share one cgroup tree here, and two systemds starting the same early unit at once
 * (systemd-sysusers, ...) can remove the cgroup the other is spawning into. After sysinit.target
 * (or 60 s), the next container boots while this one runs cloud-init.
 */
export class EarlyBootTurns {
  private last: Promise<void> = Promise.resolve();

  async boot(box: Container): Promise<void> {
    const turn = this.last;
    let done: () => void = () => undefined;
    this.last = new Promise<void>((resolve) => (done = resolve));
    try {
      await turn;
      await box.boot();
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        const state = await box.exec("systemctl is-active sysinit.target", { allowFailure: true });
        if (state.stdout.trim() === "active") break;
        await sleep(250);
      }
    } finally {
      done();
    }
  }
}
