import { spawn } from "node:child_process";
import { mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  canMount,
  dir,
  state,
  backups,
  heartbeatFile,
  restarts,
  rebootRequired,
  plainSink,
  hooks,
  pings,
  hookUrl,
  script,
  alert,
  fail,
  recover,
  deliveryToolsMissing,
} from "./alert-harness.js";

/** todo-alert: alerts that are not lost, what else it watches, the previous version's state (harness: alert-harness.ts). */
describe.skipIf(deliveryToolsMissing)("todo-alert: alerts are not lost", () => {
  it.skipIf(!canMount)(
    "a full state directory does not stop delivery, and the incident still alerts once",
    async () => {
      fail("todo-api-backup.service");
      // state on a full 16 KiB tmpfs, in a mount namespace of its own
      const inFullState = (args: string[]) =>
        alert(
          [
            "-c",
            `mount -t tmpfs -o size=16k tmpfs "$S" && { head -c 1M /dev/zero >"$S/fill" || true; } && exec bash "$0" "$@"`,
            script,
            ...args,
          ],
          { S: state },
          undefined,
          ["unshare", "-rm", "bash"],
        );
      const first = await inFullState(["failed", "todo-api-backup.service"]);
      expect(first.status, first.stderr).toBe(0);
      expect(first.stderr).toContain("state kept in");
      expect(hooks.map((h) => h.json.check)).toEqual(["backup"]);
      const again = await inFullState(["check"]);
      expect(again.status, again.stderr).toBe(0);
      expect(hooks).toHaveLength(1); // the overflow copy remembers it alerted
      recover("todo-api-backup.service");
      await alert(["check"]); // space again: the same incident recovers
      expect(hooks.map((h) => h.json.status)).toEqual(["alert", "recovery"]);
    },
  );

  it("a failure reported while another run holds the lock (a slow receiver) is recorded and alerted by the next check", async () => {
    fail("todo-api-backup.service");
    mkdirSync(state, { recursive: true });
    const holder = spawn("flock", [join(state, ".lock"), "sleep", "30"], { stdio: "ignore", detached: true });
    try {
      await new Promise((r) => setTimeout(r, 300));
      const r = await alert(["failed", "todo-api-backup.service"], { ALERT_LOCK_WAIT_SECONDS: "1" });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toContain("the failure of todo-api-backup.service is recorded; the next check alerts it");
      expect((await alert(["status"])).stdout).toContain("todo-api-backup.service: failed, not examined yet");
    } finally {
      process.kill(-holder.pid!); // flock and its sleep, which holds the lock too
    }
    await new Promise((r) => holder.once("exit", r));
    await alert(["check"]);
    expect(hooks.map((h) => [h.json.check, h.json.status])).toEqual([["backup", "alert"]]);
  });

  it("the checker alerts a failed unit nobody reported (a lost OnFailure= run)", async () => {
    fail("todo-api-backup.service");
    const r = await alert(["check"]);
    expect(r.status, r.stderr).toBe(0);
    expect(hooks.map((h) => [h.json.check, h.json.status])).toEqual([["backup", "alert"]]);
  });

  it("one check stopping with an error does not stop the others (a missing backup directory)", async () => {
    fail("todo-api-backup.service");
    await alert(["failed", "todo-api-backup.service"]);
    recover("todo-api-backup.service");
    rmSync(backups, { recursive: true, force: true });
    const r = await alert(["check"], { TODO_BACKUP_DIR: join(dir, "no-such-dir") });
    expect(hooks.map((h) => h.json.status)).toEqual(["alert", "recovery"]);
    expect(r.status, r.stderr).toBe(0);
  });

  it("mail to an smtp:// relay without STARTTLS is refused, not sent in the clear", async () => {
    writeFileSync(join(dir, "env-plain"), `SMTP_URL=${plainSink.url}\nMAIL_FROM=alerts@example.com\n`);
    fail("todo-api-backup.service");
    const r = await alert(["failed", "todo-api-backup.service"], { TODO_ENV_FILE: join(dir, "env-plain") });
    expect(r.stderr).toMatch(/the SMTP relay smtp:\/\/127\.0\.0\.1:\d+ did not take the mail/);
    expect(plainSink.mails).toHaveLength(0);
    expect(hooks).toHaveLength(1); // the webhook still got it
  });
});

describe.skipIf(deliveryToolsMissing)("todo-alert: what else it watches", () => {
  it("an instance restarting ALERT_CRASH_RESTARTS times within the window alerts, and recovers once it stays up", async () => {
    writeFileSync(join(restarts, "todo-api@3001.service"), "2\n");
    await alert(["check"]);
    expect(hooks).toHaveLength(0);
    writeFileSync(join(restarts, "todo-api@3001.service"), "7\n");
    await alert(["check"]);
    expect(hooks.map((h) => [h.json.check, h.json.status])).toEqual([["instance-3001", "alert"]]);
    expect(hooks[0]!.json.title).toContain("todo-api@3001.service restarted 5 times in the last 15 minutes");
    await new Promise((r) => setTimeout(r, 1100));
    await alert(["check"], { ALERT_CRASH_WINDOW_SECONDS: "0" });
    expect(hooks.map((h) => h.json.status)).toEqual(["alert", "recovery"]);
  });

  it("a pending reboot alerts once it has waited ALERT_REBOOT_AFTER_HOURS, naming the packages", async () => {
    writeFileSync(rebootRequired, "*** System restart required ***\n");
    writeFileSync(`${rebootRequired}.pkgs`, "linux-image-6.1.0-28-amd64\nlibc6\n");
    await alert(["check"]);
    expect(hooks).toHaveLength(0); // 24 h by default
    await alert(["check"], { ALERT_REBOOT_AFTER_HOURS: "0" });
    expect(hooks.map((h) => h.json.check)).toEqual(["reboot-required"]);
    expect(hooks[0]!.json.text).toContain("Packages: linux-image-6.1.0-28-amd64 libc6");
    rmSync(rebootRequired);
    await alert(["check"]);
    expect(hooks.map((h) => h.json.status)).toEqual(["alert", "recovery"]);
  });

  it("the watchdog alerts when the checker has not completed a run for ALERT_HEARTBEAT_MAX_AGE_SECONDS", async () => {
    await alert(["check"]);
    expect((await alert(["watchdog"])).status).toBe(0);
    expect(hooks).toHaveLength(0);
    // the last completed check was an hour ago
    writeFileSync(join(state, ".heartbeat"), `${Math.floor(Date.now() / 1000) - 3600}\n`);
    await alert(["watchdog"]);
    expect(hooks.map((h) => [h.json.check, h.json.status])).toEqual([["alert-checker", "alert"]]);
    expect(hooks[0]!.json.title).toContain("the alert checker has not completed a run since");
    await alert(["check"]);
    await alert(["watchdog"]);
    expect(hooks.map((h) => h.json.status)).toEqual(["alert", "recovery"]);
  });

  it("each completed check pings the heartbeat URL (an external dead-man's switch)", async () => {
    writeFileSync(heartbeatFile, `${new URL(hookUrl).origin}/ping/abc\n`);
    await alert(["check"]);
    expect(pings).toBe(1);
    const set = await alert(["set-heartbeat"], {}, "https://hc-ping.example.com/0f6e1c");
    expect(set.stderr).toContain("heartbeat URL set (https://hc-ping.example.com/…");
    expect(statSync(heartbeatFile).mode & 0o777).toBe(0o600);
  });
});

describe.skipIf(deliveryToolsMissing)("todo-alert on a server that ran the previous version", () => {
  it("reads the incidents and the send log the previous version wrote: an open incident recovers once", async () => {
    // the previous version's files: one state file per check, "TIME CHECK KIND" lines in sent.log
    const since = Math.floor(Date.now() / 1000) - 7200;
    writeFileSync(
      join(state, "backup"),
      `unit=todo-api-backup.service\nsince=${since}\nsummary=todo-api-backup.service failed (exit-code)\nalerted=${since + 60}\n`,
    );
    writeFileSync(join(state, "sent.log"), `${since + 60} backup alert\n`);
    writeFileSync(join(state, ".lock"), "");
    expect((await alert(["status"])).stdout).toMatch(
      /^backup: todo-api-backup.service failed \(exit-code\) since .*, alerted$/m,
    );
    await alert(["check"]);
    expect(hooks.map((h) => [h.json.check, h.json.status])).toEqual([["backup", "recovery"]]);
    await alert(["check"]);
    expect(hooks).toHaveLength(1);
    expect((await alert(["status"])).stdout).toBe("no open incident\n");
  });
});
