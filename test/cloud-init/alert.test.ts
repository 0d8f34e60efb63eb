import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  openssl,
  dir,
  state,
  backups,
  marker,
  webhookFile,
  JWT,
  HOOK_TOKEN,
  LOGGED_PASSWORD,
  sink,
  hooks,
  hookUrl,
  silentPort,
  alert,
  fail,
  recover,
  subjects,
  expectNoSecret,
  certificate,
  deliveryToolsMissing,
} from "./alert-harness.js";

/** todo-alert: one alert per incident and one recovery, to both receivers, without a secret (harness: alert-harness.ts). */
describe.skipIf(deliveryToolsMissing)("todo-alert: one alert per incident, then one recovery", () => {
  it("a failed unit alerts both receivers once, with what its run logged and no secret; its recovery once", async () => {
    fail("todo-api-backup.service");
    const first = await alert(["failed", "todo-api-backup.service"]);
    expect(first.status, first.stderr).toBe(0);
    expect(hooks).toHaveLength(1);
    expect(sink.mails).toHaveLength(1);
    expect(hooks[0]!.path).toBe(`/hook/${HOOK_TOKEN}?key=${HOOK_TOKEN}`);
    expect(hooks[0]!.json).toMatchObject({ status: "alert", check: "backup", app: "todo-api", environment: "prod" });
    expect(hooks[0]!.json.text).toContain("todo-api-backup.service failed (exit-code)");
    expect(hooks[0]!.json.text).toContain("todo-backup: error: upload to https://***@tos.example.com/b/k?*** failed");
    expect(hooks[0]!.json.text).toContain(
      "todo-backup: wrote /var/backups/todo-api/todo_api-20261130T033000Z.dump (12K)",
    );
    expect(hooks[0]!.json.text).not.toContain("pg_dump:");
    expect(sink.mails[0]!.to).toEqual(["oncall@example.com"]);
    expect(sink.mails[0]!.from).toBe("alerts@example.com");
    expect(subjects()[0]).toBe("[todo-api prod] ALERT backup: todo-api-backup.service failed (exit-code)");

    // The unit fails again (the next night), and the checker runs: still the same incident.
    expect((await alert(["failed", "todo-api-backup.service"])).status).toBe(0);
    expect((await alert(["check"])).status).toBe(0);
    expect(hooks).toHaveLength(1);
    expect(sink.mails).toHaveLength(1);
    expect((await alert(["status"])).stdout).toMatch(
      /^backup: todo-api-backup.service failed \(exit-code\) since .*, alerted$/m,
    );

    recover("todo-api-backup.service");
    expect((await alert(["check"])).status).toBe(0);
    expect((await alert(["check"])).status).toBe(0);
    expect(hooks.map((h) => h.json.status)).toEqual(["alert", "recovery"]);
    expect(subjects()).toEqual([
      "[todo-api prod] ALERT backup: todo-api-backup.service failed (exit-code)",
      "[todo-api prod] RECOVERED backup: todo-api-backup.service failed (exit-code)",
    ]);
    expect((await alert(["status"])).stdout).toBe("no open incident\n");
    expectNoSecret();
  });

  it("readyz alerts only once it has failed for ALERT_READYZ_AFTER_SECONDS since the last good answer", async () => {
    fail("todo-api-health.service");
    const env = { ALERT_READYZ_AFTER_SECONDS: "60" };
    const pending = await alert(["failed", "todo-api-health.service"], env);
    expect(pending.stderr).toContain("readyz failing since");
    expect(hooks).toHaveLength(0);
    // the last good answer was two minutes ago
    const past = Date.now() / 1000 - 120;
    utimesSync(marker, past, past);
    rmSync(state, { recursive: true, force: true });
    await alert(["failed", "todo-api-health.service"], env);
    await alert(["check"], env);
    expect(hooks.map((h) => [h.json.check, h.json.status])).toEqual([["readyz", "alert"]]);
    expect(hooks[0]!.json.text).toContain("the API does not answer /readyz through Nginx");
    recover("todo-api-health.service");
    await alert(["check"], env);
    expect(hooks.map((h) => [h.json.check, h.json.status])).toEqual([
      ["readyz", "alert"],
      ["readyz", "recovery"],
    ]);
    expect(sink.mails).toHaveLength(2);
  });

  it("a readyz failure after a good answer starts a new count (a blip long ago does not alert)", async () => {
    fail("todo-api-health.service");
    const old = Date.now() / 1000 - 600;
    utimesSync(marker, old, old);
    await alert(["failed", "todo-api-health.service"], { ALERT_READYZ_AFTER_SECONDS: "3600" });
    writeFileSync(marker, ""); // it answered since
    await alert(["failed", "todo-api-health.service"], { ALERT_READYZ_AFTER_SECONDS: "300" });
    expect(hooks).toHaveLength(0);
  });

  it.skipIf(openssl.missing)(
    "a certificate expiring within ALERT_CERT_DAYS alerts, a renewed one recovers",
    async () => {
      certificate(5);
      await alert(["check"]);
      expect(hooks.map((h) => h.json.check)).toEqual(["certificate-expiry"]);
      expect(hooks[0]!.json.title).toContain("the certificate of api.example.com expires within 14 days");
      certificate(90);
      await alert(["check"]);
      expect(hooks.map((h) => h.json.status)).toEqual(["alert", "recovery"]);
    },
  );

  it("disk above ALERT_DISK_PERCENT and a backup older than ALERT_BACKUP_MAX_AGE_HOURS are named checks", async () => {
    const dump = join(backups, "todo_api-20261128T033000Z.dump");
    writeFileSync(dump, "dump");
    const old = Date.now() / 1000 - 27 * 3600;
    utimesSync(dump, old, old);
    await alert(["check"], { ALERT_DISK_PERCENT: "0" });
    expect(hooks.map((h) => h.json.check).sort()).toEqual(["backup-age", expect.stringMatching(/^disk-/)]);
    expect(hooks.find((h) => h.json.check === "backup-age")!.json.title).toContain(
      "the newest local backup is 27 hours old",
    );
    writeFileSync(join(backups, "todo_api-20261130T033000Z.dump"), "dump");
    await alert(["check"]);
    expect(hooks.map((h) => h.json.status)).toEqual(["alert", "alert", "recovery", "recovery"]);
    expectNoSecret();
  });

  it("budgets: a check that sent nothing this hour always gets its alert out; more waits for a later check", async () => {
    for (const unit of ["todo-api-backup.service", "todo-api-certificate.service", "todo-api-other.service"]) {
      fail(unit);
      await alert(["failed", unit], { ALERT_MAX_PER_HOUR: "2" });
    }
    // the third check's first message goes out although two were sent in this hour
    expect(hooks.map((h) => h.json.check)).toEqual(["backup", "certificate", "other"]);
    // recoveries of checks that already sent wait for the shared budget
    for (const unit of ["todo-api-backup.service", "todo-api-certificate.service", "todo-api-other.service"])
      recover(unit);
    const held = await alert(["check"], { ALERT_MAX_PER_HOUR: "2" });
    expect(held.stderr).toContain("notice held back: 3 messages in the last hour (ALERT_MAX_PER_HOUR)");
    expect(hooks).toHaveLength(3);
    expect((await alert(["status"])).stdout).toContain("other: todo-api-other.service failed (exit-code) since");
    await alert(["check"], { ALERT_MAX_PER_HOUR: "6" });
    expect(hooks.map((h) => h.json.status)).toEqual(["alert", "alert", "alert", "recovery", "recovery", "recovery"]);
  });

  it("a flapping disk check spends only its own budget: the API-down alert still goes out", async () => {
    const flap = { ALERT_DISK_HYSTERESIS: "0" };
    for (let i = 0; i < 6; i++) {
      await alert(["check"], { ...flap, ALERT_DISK_PERCENT: "0" });
      await alert(["check"], { ...flap, ALERT_DISK_PERCENT: "100" });
    }
    // 4 messages of the disk check (ALERT_MAX_PER_CHECK_PER_HOUR), then it waits
    expect(hooks.filter((h) => h.json.check?.startsWith("disk-"))).toHaveLength(4);
    fail("todo-api-health.service");
    const old = Date.now() / 1000 - 600;
    utimesSync(marker, old, old);
    await alert(["failed", "todo-api-health.service"], { ALERT_MAX_PER_HOUR: "4" });
    expect(hooks.at(-1)!.json).toMatchObject({ check: "readyz", status: "alert" });
  });

  it("a disk near the limit is one incident: it recovers only ALERT_DISK_HYSTERESIS points below", async () => {
    const used = Number(
      execFileSync("df", ["--output=pcent", dir], { encoding: "utf8" }).split("\n")[1]!.trim().replace("%", ""),
    );
    await alert(["check"], { ALERT_DISK_PERCENT: String(used - 1) });
    expect(hooks.map((h) => h.json.status)).toEqual(["alert"]);
    // just under the limit: still failing (within the band), no recovery, no new alert
    await alert(["check"], { ALERT_DISK_PERCENT: String(used + 1), ALERT_DISK_HYSTERESIS: "5" });
    expect(hooks.map((h) => h.json.status)).toEqual(["alert"]);
    await alert(["check"], { ALERT_DISK_PERCENT: String(used + 6), ALERT_DISK_HYSTERESIS: "5" });
    expect(hooks.map((h) => h.json.status)).toEqual(["alert", "recovery"]);
  });

  it("a dry run prints what would be sent and to whom (URLs redacted), sends nothing, changes no state", async () => {
    fail("todo-api-backup.service");
    const r = await alert(["--dry-run", "failed", "todo-api-backup.service"]);
    expect(r.status, r.stderr).toBe(0);
    const port = new URL(hookUrl).port;
    expect(r.stdout).toContain(`would POST to webhook http://127.0.0.1:${port}/… (URL redacted)`);
    expect(r.stdout).toContain(
      `would mail oncall@example.com from alerts@example.com through smtp://127.0.0.1:${new URL(sink.url).port}`,
    );
    expect(r.stdout).toContain("--- [todo-api prod] ALERT backup: todo-api-backup.service failed (exit-code)");
    for (const secret of [HOOK_TOKEN, sink.password, JWT, LOGGED_PASSWORD])
      expect(r.stdout + r.stderr).not.toContain(secret);
    expect(hooks).toHaveLength(0);
    expect(sink.mails).toHaveLength(0);
    expect(readdirSync(state)).toEqual([]);
  });

  it("a receiver that accepts and never answers costs bounded time; the other receiver still gets the alert", async () => {
    writeFileSync(webhookFile, `http://127.0.0.1:${silentPort}/hook/${HOOK_TOKEN}\n`);
    fail("todo-api-backup.service");
    const started = Date.now();
    const r = await alert(["failed", "todo-api-backup.service"], { ALERT_TIMEOUT_SECONDS: "1", ALERT_RETRIES: "1" });
    const seconds = (Date.now() - started) / 1000;
    // (1 + retries) attempts of ALERT_TIMEOUT_SECONDS, plus the mail: far below what a hang would take
    expect(seconds).toBeLessThan(15);
    expect(r.stderr).toMatch(
      new RegExp(
        `the webhook http://127\\.0\\.0\\.1:${silentPort}/… did not accept the message \\(curl: \\(28\\) Operation timed out`,
      ),
    );
    expect(r.stderr).not.toContain(HOOK_TOKEN);
    expect(sink.mails).toHaveLength(1);
    expect((await alert(["status"])).stdout).toContain(", alerted");
  });

  it("with no receiver accepting, the incident stays unalerted and the next check tries again", async () => {
    writeFileSync(join(dir, "env-no-mail"), `JWT_SECRET=${JWT}\n`);
    writeFileSync(webhookFile, `http://127.0.0.1:${silentPort}/hook\n`);
    fail("todo-api-backup.service");
    const fast = { ALERT_TIMEOUT_SECONDS: "1", ALERT_RETRIES: "0", TODO_ENV_FILE: join(dir, "env-no-mail") };
    const r = await alert(["failed", "todo-api-backup.service"], fast);
    expect(r.stderr).toContain("ALERT_EMAIL is set but the app has no SMTP_URL/MAIL_FROM");
    expect((await alert(["status"])).stdout).toContain("not alerted yet");
    writeFileSync(webhookFile, `${hookUrl}\n`);
    await alert(["check"], fast);
    expect(hooks.map((h) => h.json.check)).toEqual(["backup"]);
  });
});

describe.skipIf(deliveryToolsMissing)("todo-alert set-webhook and test", () => {
  it("stores the webhook root-only, refuses what is not https, removes it when empty", async () => {
    rmSync(join(dir, "etc-alert"), { recursive: true, force: true });
    expect((await alert(["set-webhook"], {}, "http://hooks.example.com/x")).status).not.toBe(0);
    const ok = await alert(["set-webhook"], {}, `https://hooks.example.com/bot/${HOOK_TOKEN}`);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stderr).toContain("webhook set (https://hooks.example.com/…");
    expect(ok.stderr).not.toContain(HOOK_TOKEN);
    expect(statSync(webhookFile).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "etc-alert")).mode & 0o777).toBe(0o700);
    expect((await alert(["set-webhook"], {}, "")).status).toBe(0);
    expect(existsSync(webhookFile)).toBe(false);
  });

  it("`todo-alert test` reaches both receivers without opening an incident", async () => {
    const r = await alert(["test"]);
    expect(r.status, r.stderr).toBe(0);
    expect(hooks.map((h) => h.json.check)).toEqual(["test"]);
    expect(sink.mails).toHaveLength(1);
    expect((await alert(["status"])).stdout).toBe("no open incident\n");
  });
});
