import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createTcpServer, type AddressInfo, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { selfSignedCertificate, startSmtpSink, type SmtpSink } from "../support/smtp-sink.js";
import { requireTool } from "../support/tools.js";
import { renderedFiles, runAsync, variants } from "./helpers.js";

const openssl = requireTool("openssl");
/** A tmpfs in a mount namespace of the test's own (a full filesystem without touching the host's). */
const canMount = spawnSync("unshare", ["-rm", "true"]).status === 0;

/**
 * todo-alert as rendered for a server with a domain and an alert e-mail, run for real against a
 * webhook receiver (node:http) and the SMTP sink on 127.0.0.1. systemctl and journalctl are
 * stand-ins answering from files (which unit failed, what its run logged); everything else —
 * df, openssl, curl, the state files — is real.
 */
const dir = mkdtempSync(join(tmpdir(), "todo-alert-"));
const state = join(dir, "state");
const failed = join(dir, "failed");
const live = join(dir, "live");
const backups = join(dir, "backups");
const appRoot = join(dir, "app");
const marker = join(dir, "health-ready");
const webhookFile = join(dir, "etc-alert/webhook");
const heartbeatFile = join(dir, "etc-alert/heartbeat-url");
const overflow = join(dir, "run");
const restarts = join(dir, "restarts");
const rebootRequired = join(dir, "reboot-required");
const libDir = join(dir, "lib");
const caFile = join(dir, "smtp-ca.pem");
const JWT = "jwt-secret-value-that-must-never-leave-0123456789";
const HOOK_TOKEN = "hook-token-3f9a8b7c";
const LOGGED_PASSWORD = "hunter2-in-a-logged-url";

interface Hook {
  path: string;
  json: Record<string, string>;
}
let sink: SmtpSink;
let plainSink: SmtpSink;
let hooks: Hook[] = [];
let pings = 0;
let hookServer: Server;
let hookUrl = "";
let silentServer: ReturnType<typeof createTcpServer>;
const silentSockets: Socket[] = [];
let silentPort = 0;

const rendered = renderedFiles({ ...variants["local, domain"]!, alertEmail: "oncall@example.com" });
const script = join(dir, "todo-alert");

beforeAll(async () => {
  // The relay offers STARTTLS with a certificate curl verifies (CURL_CA_BUNDLE below).
  const tls = selfSignedCertificate("127.0.0.1");
  writeFileSync(caFile, tls.cert);
  sink = await startSmtpSink("127.0.0.1", tls);
  plainSink = await startSmtpSink();
  hookServer = createHttpServer((req, res) => {
    if (req.url?.startsWith("/ping/")) {
      pings++;
      res.end("ok");
      return;
    }
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      hooks.push({ path: req.url ?? "", json: JSON.parse(body) as Record<string, string> });
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => hookServer.listen(0, "127.0.0.1", resolve));
  hookUrl = `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/hook/${HOOK_TOKEN}?key=${HOOK_TOKEN}`;
  // Accepts connections and never answers: delivery must still end in bounded time.
  silentServer = createTcpServer((socket) => void silentSockets.push(socket));
  await new Promise<void>((resolve) => silentServer.listen(0, "127.0.0.1", resolve));
  silentPort = (silentServer.address() as AddressInfo).port;

  writeFileSync(script, rendered.get("/usr/local/sbin/todo-alert")!.content, { mode: 0o755 });
  mkdirSync(libDir);
  for (const f of rendered.values())
    if (f.path.startsWith("/usr/local/lib/todo/")) writeFileSync(join(libDir, basename(f.path)), f.content);
  writeFileSync(join(dir, "host.conf"), rendered.get("/etc/todo-host.conf")!.content);
  writeFileSync(
    join(dir, "env"),
    `JWT_SECRET=${JWT}\nDATABASE_URL=postgres://todo_api:db-password-xyz@127.0.0.1:5432/todo_api\nSMTP_URL=${sink.url}\nMAIL_FROM=alerts@example.com\n`,
  );
  writeFileSync(
    join(dir, "systemctl"),
    `#!/bin/sh
# is-failed --quiet UNIT | show --property=P --value UNIT | list-units --failed ...
case $1 in
is-failed) [ -e "${failed}/$3" ] ;;
show) case $2 in
  --property=Result) echo exit-code ;;
  --property=InvocationID) echo 0123abcd ;;
  --property=NRestarts) cat "${restarts}/$4" 2>/dev/null || echo 0 ;;
  esac ;;
list-units) for f in "${failed}"/*; do [ -e "$f" ] && echo "\${f##*/} loaded failed failed"; done; true ;;
esac
`,
    { mode: 0o755 },
  );
  // What the failed run logged: the project's own lines (one with a credential-bearing URL) and a
  // line of another program, which is never quoted.
  writeFileSync(
    join(dir, "journalctl"),
    `#!/bin/sh
echo "todo-backup: wrote /var/backups/todo-api/todo_api-20261130T033000Z.dump (12K)"
echo "todo-backup: error: upload to https://uploader:${LOGGED_PASSWORD}@tos.example.com/b/k?X-Amz-Signature=${"a".repeat(64)} failed"
echo "pg_dump: connection to server with password=${JWT} failed"
`,
    { mode: 0o755 },
  );
});

afterAll(async () => {
  await sink?.close();
  await plainSink?.close();
  for (const s of silentSockets) s.destroy();
  await new Promise<void>((resolve) => (silentServer ? silentServer.close(() => resolve()) : resolve()));
  await new Promise<void>((resolve) => (hookServer ? hookServer.close(() => resolve()) : resolve()));
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  hooks = [];
  sink.mails.length = 0;
  pings = 0;
  for (const d of [state, failed, live, backups, appRoot, overflow, restarts]) {
    rmSync(d, { recursive: true, force: true });
    mkdirSync(d, { recursive: true });
  }
  mkdirSync(join(appRoot, "current"));
  writeFileSync(marker, "");
  rmSync(rebootRequired, { force: true });
  rmSync(heartbeatFile, { force: true });
  mkdirSync(join(dir, "etc-alert"), { recursive: true, mode: 0o700 });
  writeFileSync(webhookFile, `${hookUrl}\n`, { mode: 0o600 });
});

function alert(args: string[], env: Record<string, string> = {}, input?: string, command = ["bash", script]) {
  return runAsync(command[0]!, [...command.slice(1), ...args], {
    input,
    env: {
      PATH: process.env.PATH,
      TODO_HOST_CONF: join(dir, "host.conf"),
      TODO_ALERT_STATE_DIR: state,
      TODO_ALERT_RUN_DIR: overflow,
      TODO_COMMON: join(libDir, "common.sh"),
      TODO_LOG_JOURNAL: "0",
      TODO_ALERT_WEBHOOK_FILE: webhookFile,
      TODO_ALERT_HEARTBEAT_FILE: heartbeatFile,
      TODO_REBOOT_REQUIRED: rebootRequired,
      CURL_CA_BUNDLE: caFile,
      TODO_ENV_FILE: join(dir, "env"),
      TODO_BACKUP_DIR: backups,
      TODO_LETSENCRYPT_LIVE: live,
      TODO_HEALTH_MARKER: marker,
      TODO_APP_ROOT: appRoot,
      SYSTEMCTL: join(dir, "systemctl"),
      TODO_JOURNALCTL: join(dir, "journalctl"),
      // the test directory's filesystem, and a threshold it never passes unless a test lowers it
      ALERT_DISK_PATHS: dir,
      ALERT_DISK_PERCENT: "100",
      ...env,
    },
  });
}

const fail = (unit: string) => writeFileSync(join(failed, unit), "");
const recover = (unit: string) => rmSync(join(failed, unit), { force: true });
const everything = () => [...hooks.map((h) => JSON.stringify(h.json)), ...sink.mails.map((m) => m.raw)].join("\n");
const subjects = () => sink.mails.map((m) => /^Subject: (.*)$/m.exec(m.raw)?.[1]?.trim());

function expectNoSecret() {
  const sent = everything();
  for (const secret of [JWT, "db-password-xyz", sink.password, HOOK_TOKEN, LOGGED_PASSWORD, "a".repeat(40)]) {
    expect(sent).not.toContain(secret);
  }
}

function certificate(days: number) {
  const out = join(live, "api.example.com");
  mkdirSync(out, { recursive: true });
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-subj",
      "/CN=api.example.com",
      "-days",
      String(days),
      "-keyout",
      join(out, "privkey.pem"),
      "-out",
      join(out, "fullchain.pem"),
    ],
    { stdio: "ignore" },
  );
}

describe("todo-alert: one alert per incident, then one recovery", () => {
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

describe("todo-alert set-webhook and test", () => {
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

describe("todo-alert: alerts are not lost", () => {
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

describe("todo-alert: what else it watches", () => {
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

describe("todo-alert on a server that ran the previous version", () => {
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
