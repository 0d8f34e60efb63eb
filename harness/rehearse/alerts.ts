import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ALERT_STATE_DIR, ALERT_WEBHOOK_PATH } from "../../contract/server.js";
import { startMetadataStandIn } from "../../local-cloud/services/ecs/metadata.js";
import { startS3StandIn } from "../../local-cloud/services/tos/s3-data-plane.js";
import { selfSignedCertificate, startSmtpSink } from "../support/smtp-sink.js";
import type { Cleanup } from "./cleanup.js";
import type { Container } from "./container.js";
import type { StepLog } from "./steps.js";

/**
 * Alerts from the server, after day 2 (the server then has a domain and an off-site
 * backup target): receivers on the host end of the container's network — a webhook receiver and
 * an SMTP relay that requires the credentials in SMTP_URL — and four things broken once each:
 * PostgreSQL stopped for longer than the alert delay, a backup upload refused by the S3 stand-in,
 * a small filesystem filled, a certificate near expiry. Each must give exactly one alert and then
 * one recovery at both receivers. Only settings differ from production: the receivers, a 5 s
 * readyz delay, the checked paths (drop-ins, as an operator's `systemctl edit`), and where the
 * backup's metadata service and S3 endpoint are (a drop-in, the host settings); the checker is started with systemctl instead of
 * waiting for its 5-minute timer (the same unit).
 */
export interface AlertsRehearsal {
  box: Container;
  log: StepLog;
  cleanup: Cleanup;
  appName: string;
  hostAddress: string;
}

interface Message {
  receiver: "webhook" | "mail";
  check: string;
  status: "alert" | "recovery" | "test";
  text: string;
}

const DISK = "/srv/rehearsal-disk";
const DOMAIN_OF = (hostConf: string) => /^DOMAIN='([^']*)'$/m.exec(hostConf)?.[1] ?? "";

export async function runAlertsRehearsal(r: AlertsRehearsal): Promise<void> {
  const { box, log, appName } = r;
  const token = randomBytes(12).toString("hex");
  const hooks: Message[] = [];

  const hook: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      const json = JSON.parse(body) as { check: string; status: Message["status"]; text: string };
      hooks.push({ receiver: "webhook", check: json.check, status: json.status, text: json.text });
      res.writeHead(200).end("{}");
    });
  });
  await new Promise<void>((resolve) => hook.listen(0, r.hostAddress, resolve));
  r.cleanup.add("alert webhook receiver", () => new Promise<void>((resolve) => hook.close(() => resolve())));
  // todo-alert mails only over TLS (STARTTLS required): the relay offers it, the server trusts its CA.
  const tls = selfSignedCertificate(r.hostAddress);
  const sink = await startSmtpSink(r.hostAddress, tls);
  r.cleanup.add("alert SMTP relay", () => sink.close());
  // The mails as messages, by their subject: "[todo-api dev] ALERT readyz: ..."
  const mails = (): Message[] =>
    sink.mails.map((m) => {
      const subject = /^Subject: \[[^\]]*\] (ALERT|RECOVERED) ([^:]+):/m.exec(m.raw);
      const status = subject?.[1] === "RECOVERED" ? "recovery" : subject?.[2] === "test" ? "test" : "alert";
      return { receiver: "mail", check: subject?.[2] ?? "?", status, text: m.raw };
    });
  const hookUrl = `http://${r.hostAddress}:${(hook.address() as AddressInfo).port}/hook/${token}`;

  const hostConf = await box.readFile("/etc/todo-host.conf");
  const bucket = /^OFFSITE_BUCKET='([^']*)'$/m.exec(hostConf)?.[1];
  const role = /^OFFSITE_ROLE='([^']*)'$/m.exec(hostConf)?.[1];
  const domain = DOMAIN_OF(hostConf);
  if (!bucket || !role || !domain)
    throw new Error(
      "the alerts rehearsal runs after day 2: the server must have a domain and an off-site backup target",
    );
  const creds = {
    AccessKeyId: "AKTPREHEARSAL",
    SecretAccessKey: randomBytes(16).toString("hex"),
    SessionToken: randomBytes(16).toString("hex"),
  };
  const s3 = await startS3StandIn({ bucket, region: "cn-beijing", creds: () => creds, host: r.hostAddress });
  r.cleanup.add("S3 stand-in", () => s3.close());
  const metadata = await startMetadataStandIn(role, () => creds, { host: r.hostAddress });
  r.cleanup.add("metadata stand-in", () => metadata.close());

  const sh = (script: string) => box.exec(script, { allowFailure: true, timeoutMs: 120_000 });
  const messages = () => [...hooks, ...mails()];
  const count = (check: string, status: Message["status"], receiver?: Message["receiver"]) =>
    messages().filter((m) => m.check === check && m.status === status && (!receiver || m.receiver === receiver)).length;
  const waitFor = async (check: string, status: Message["status"], timeoutMs = 60_000) => {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      if (count(check, status, "webhook") >= 1 && count(check, status, "mail") >= 1) return;
      await new Promise((res) => setTimeout(res, 250));
    }
    const state = await sh(
      `/usr/local/sbin/todo-alert status; journalctl --no-pager -n 30 -t todo-alert -u '${appName}-alert*'`,
    );
    throw new Error(`no ${status} for ${check} at both receivers within ${timeoutMs / 1000} s:\n${state.output}`);
  };
  const checker = () => sh(`systemctl start ${appName}-alert-check.service`);

  await log.step("alerts: receivers (webhook, SMTP relay, ALERT_EMAIL) and short delays as settings", async () => {
    const setup = await sh(
      [
        "set -eu",
        `printf '%s' '${sink.url}' | /usr/local/sbin/todo-release set-env SMTP_URL`,
        "printf '%s' 'alerts@rehearsal.example.com' | /usr/local/sbin/todo-release set-env MAIL_FROM",
        // What the deploy step writes from alerts.email (a host setting) and alerts.webhook (the
        // secrets step; set-webhook wants https://, which this receiver is not: written as it would).
        "grep -q '^ALERT_EMAIL=' /etc/todo-host.conf || printf \"ALERT_EMAIL='oncall@rehearsal.example.com'\\n\" >>/etc/todo-host.conf",
        `install -d -m 0700 ${ALERT_WEBHOOK_PATH.replace(/\/[^/]+$/, "")}`,
        `(umask 077; printf '%s\\n' '${hookUrl}' >${ALERT_WEBHOOK_PATH})`,
        `printf '%s' '${tls.cert}' >/etc/todo-alert/rehearsal-smtp-ca.pem`,
        `for unit in ${appName}-alert@ ${appName}-alert-check; do mkdir -p /etc/systemd/system/$unit.service.d; printf '[Service]\\nEnvironment=ALERT_READYZ_AFTER_SECONDS=5 "ALERT_DISK_PATHS=/ /var/lib/postgresql ${DISK}" CURL_CA_BUNDLE=/etc/todo-alert/rehearsal-smtp-ca.pem\\n' >/etc/systemd/system/$unit.service.d/rehearsal.conf; done`,
        `mkdir -p /etc/systemd/system/${appName}-backup.service.d`,
        `printf '[Service]\\nEnvironment=TODO_METADATA_URL=${metadata.url} OFFSITE_PATH_STYLE=1 OFFSITE_ATTEMPTS=1\\n' >/etc/systemd/system/${appName}-backup.service.d/rehearsal.conf`,
        // todo-backup reads the endpoint from the host settings (where the deploy step writes backups.endpoint).
        `sed -i "s#^OFFSITE_ENDPOINT=.*#OFFSITE_ENDPOINT='${s3.url}'#" /etc/todo-host.conf`,
        // Certbot's retry timer would switch Nginx to the test certificate below.
        `systemctl stop ${appName}-certificate.timer`,
        "systemctl daemon-reload",
        // Earlier scenarios (a broken release, a reboot) may have left incidents without receivers.
        `systemctl start ${appName}-alert-check.service`,
        `mkdir -p ${DISK}`,
        "/usr/local/sbin/todo-alert status",
        "/usr/local/sbin/todo-alert --dry-run test",
      ].join("\n"),
    );
    log.info(setup.output.trim().replaceAll(token, "…").replaceAll(sink.password, "…"));
    if (setup.code !== 0) throw new Error(`setting up the receivers failed (${setup.code})`);
    if (!setup.stdout.includes("no open incident")) throw new Error("incidents are open before anything was broken");
    if (setup.output.includes(token) || setup.output.includes(sink.password))
      throw new Error("the dry run showed a secret");
    if (messages().length) throw new Error(`a dry run sent ${messages().length} message(s)`);
  });

  await log.check(
    "alerts: PostgreSQL stopped for longer than the alert delay → one readyz alert, then one recovery",
    async () => {
      await sh("systemctl stop postgresql");
      try {
        // The health unit, as its timer starts it: each failure runs the OnFailure= handler.
        await sh(`systemctl start ${appName}-health.service; sleep 6; systemctl start ${appName}-health.service`);
        await waitFor("readyz", "alert");
        await sh(`systemctl start ${appName}-health.service; sleep 1`);
      } finally {
        await sh("systemctl start postgresql");
      }
      const until = Date.now() + 60_000;
      while ((await sh(`systemctl start ${appName}-health.service`)).code !== 0) {
        if (Date.now() > until) throw new Error("/readyz did not recover within 60 s of PostgreSQL's start");
        await new Promise((res) => setTimeout(res, 1000));
      }
      await checker();
      await waitFor("readyz", "recovery");
    },
  );

  await log.check(
    "alerts: a backup upload refused by the S3 stand-in → one backup alert; the next backup → one recovery",
    async () => {
      s3.failNext(1, 503);
      const failed = await sh(`systemctl start ${appName}-backup.service`);
      if (failed.code === 0) throw new Error("the backup succeeded although its upload was refused");
      await waitFor("backup", "alert");
      const ok = await sh(`systemctl start ${appName}-backup.service`);
      if (ok.code !== 0)
        throw new Error(
          `the second backup failed:\n${(await sh(`journalctl --no-pager -n 20 -u ${appName}-backup`)).output}`,
        );
      log.info(`S3 stand-in holds ${s3.objects.size} object(s): ${[...s3.objects.keys()].join(", ")}`);
      await checker();
      await waitFor("backup", "recovery");
    },
  );

  await log.check(
    "alerts: a filesystem above 85 % and a certificate expiring in 5 days → one alert each; fixed → one recovery each",
    async () => {
      const live = `/etc/letsencrypt/live/${domain}`;
      const cert = (days: number) =>
        `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=${domain} -days ${days} -keyout ${live}/privkey.pem -out ${live}/fullchain.pem 2>/dev/null`;
      const broke = await sh(
        `set -e; mount -t tmpfs -o size=4m rehearsal-disk ${DISK}; head -c 3900000 /dev/zero >${DISK}/fill; df -h ${DISK} | tail -n1; mkdir -p ${live}; ${cert(5)}`,
      );
      log.info(broke.output.trim());
      if (broke.code !== 0) throw new Error("could not fill the small filesystem or write the certificate");
      try {
        await checker();
        await waitFor("disk-srv-rehearsal-disk", "alert");
        await waitFor("certificate-expiry", "alert");
        await checker();
        await sh(`rm -f ${DISK}/fill; ${cert(90)}`);
        await checker();
        await waitFor("disk-srv-rehearsal-disk", "recovery");
        await waitFor("certificate-expiry", "recovery");
      } finally {
        await sh(`umount ${DISK}; rm -rf ${live}; systemctl start ${appName}-certificate.timer`);
      }
    },
  );

  await log.check(
    "alerts: exactly one alert and one recovery per incident at each receiver, no secret in any",
    async () => {
      await checker(); // nothing new may come of another run
      const checks = ["readyz", "backup", "disk-srv-rehearsal-disk", "certificate-expiry"];
      const problems: string[] = [];
      for (const check of checks) {
        for (const receiver of ["webhook", "mail"] as const) {
          const got = `${count(check, "alert", receiver)} alert(s), ${count(check, "recovery", receiver)} recovery(ies)`;
          log.info(`${receiver.padEnd(7)} ${check}: ${got}`);
          if (count(check, "alert", receiver) !== 1 || count(check, "recovery", receiver) !== 1)
            problems.push(`${receiver} ${check}: ${got}`);
        }
      }
      const others = messages().filter((m) => !checks.includes(m.check));
      if (others.length)
        problems.push(`unexpected messages: ${others.map((m) => `${m.receiver} ${m.status} ${m.check}`).join(", ")}`);
      const leaked = messages().filter(
        (m) => m.text.includes(token) || m.text.includes(sink.password) || m.text.includes(creds.SecretAccessKey),
      );
      if (leaked.length) problems.push(`${leaked.length} message(s) carry a secret`);
      const state = await sh(`/usr/local/sbin/todo-alert status; ls ${ALERT_STATE_DIR}`);
      log.info(state.output.trim());
      if (!state.stdout.includes("no open incident")) problems.push("an incident is still open");
      if (problems.length) throw new Error(problems.join("\n"));
    },
  );
  // The stand-in's http:// endpoint was written past the deploy step's validation (which wants
  // https://): put the deployed one back, so a later deploy of these host settings passes it.
  const endpoint = /^OFFSITE_ENDPOINT=.*$/m.exec(hostConf)?.[0];
  if (endpoint) {
    const restored = await sh(`sed -i "s#^OFFSITE_ENDPOINT=.*#${endpoint}#" /etc/todo-host.conf`);
    if (restored.code !== 0) throw new Error(`restoring OFFSITE_ENDPOINT failed (${restored.code})`);
  }
}
