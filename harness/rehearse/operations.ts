import type { Container } from "./container.js";
import type { StepLog } from "./steps.js";

/**
 * On the running server (after day 2, which gave it a domain): the sandboxed certificate unit does
 * its whole job — certbot (a stand-in writing a self-signed certificate where certbot would),
 * `nginx -t`, Nginx switched to HTTPS through systemd, its timer disabled — and the operator's
 * commands work against the real Nginx: maintenance mode answers 503 and lets /readyz through,
 * todo-status runs. Everything is put back afterwards (HTTP site, timer, /etc/hosts).
 */
export async function runOperationsRehearsal(r: { box: Container; log: StepLog; appName: string }): Promise<void> {
  const { box, log, appName } = r;
  const sh = (script: string) => box.exec(script, { allowFailure: true, timeoutMs: 120_000 });

  await log.check("the sandboxed certificate unit obtains a certificate and switches Nginx to HTTPS", async () => {
    const run = await sh(
      [
        "set -eu",
        'DOMAIN=$(. /etc/todo-host.conf; echo "$DOMAIN")',
        "cat >/usr/local/sbin/rehearsal-certbot <<'EOS'",
        "#!/bin/sh",
        "set -eu",
        'd=""; while [ $# -gt 0 ]; do [ "$1" != --domain ] || d=$2; shift; done',
        'mkdir -p "/etc/letsencrypt/live/$d" /var/log/letsencrypt',
        'echo "rehearsal certbot for $d" >>/var/log/letsencrypt/letsencrypt.log',
        'openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$d" -days 30 -keyout "/etc/letsencrypt/live/$d/privkey.pem" -out "/etc/letsencrypt/live/$d/fullchain.pem" 2>/dev/null',
        "EOS",
        "chmod 755 /usr/local/sbin/rehearsal-certbot",
        "cp /etc/hosts /etc/hosts.before-rehearsal",
        'echo "127.0.0.1 $DOMAIN" >>/etc/hosts',
        `mkdir -p /etc/systemd/system/${appName}-certificate.service.d`,
        `printf '[Service]\\nEnvironment=TODO_CERTBOT=/usr/local/sbin/rehearsal-certbot\\n' >/etc/systemd/system/${appName}-certificate.service.d/rehearsal.conf`,
        "systemctl daemon-reload",
        `systemctl start ${appName}-certificate.service || { journalctl -u ${appName}-certificate -n 30 --no-pager; exit 1; }`,
        `readlink /etc/nginx/sites-enabled/${appName}.conf`,
        `readlink /etc/nginx/sites-enabled/${appName}.conf | grep -q https.conf`,
        `if systemctl is-enabled --quiet ${appName}-certificate.timer; then echo "the timer is still enabled"; exit 1; fi`,
        'code=$(curl -sk -o /dev/null -w "%{http_code}" --resolve "$DOMAIN:443:127.0.0.1" "https://$DOMAIN/readyz")',
        'echo "https readyz: $code"; [ "$code" = 200 ]',
        `systemd-analyze security ${appName}-certificate.service --no-pager | tail -n1`,
      ].join("\n"),
    );
    log.info(run.output.trim());
    const back = await sh(
      [
        'DOMAIN=$(. /etc/todo-host.conf; echo "$DOMAIN")',
        `ln -sfn /etc/nginx/sites-available/${appName}-http.conf /etc/nginx/sites-enabled/${appName}.conf`,
        "systemctl reload nginx",
        'rm -rf "/etc/letsencrypt/live/$DOMAIN" /usr/local/sbin/rehearsal-certbot',
        "mv -f /etc/hosts.before-rehearsal /etc/hosts",
        `rm -rf /etc/systemd/system/${appName}-certificate.service.d`,
        "systemctl daemon-reload",
        `systemctl enable --now --quiet ${appName}-certificate.timer`,
      ].join("\n"),
    );
    if (run.code !== 0) throw new Error(`the certificate unit did not do its job (exit ${run.code})`);
    if (back.code !== 0) throw new Error(`putting the HTTP site back failed:\n${back.output}`);
  });

  await log.check(
    "maintenance mode: 503 from Nginx for the API, /readyz through; off again; todo-status runs",
    async () => {
      const code = (path: string) => `curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1${path}`;
      const run = await sh(
        [
          "set -eu",
          "todo-maintenance on",
          `api=$(${code("/api/v1/todos")}); ready=$(${code("/readyz")})`,
          "todo-maintenance off",
          `after=$(${code("/api/v1/todos")})`,
          'echo "maintenance on: api $api, readyz $ready; off: api $after"',
          '[ "$api" = 503 ] && [ "$ready" = 200 ] && [ "$after" != 503 ]',
          "rc=0; todo-status >/tmp/todo-status.out 2>&1 || rc=$?",
          'tail -n 3 /tmp/todo-status.out; echo "todo-status exit $rc"',
          '[ "$rc" = 0 ] || [ "$rc" = 3 ]',
        ].join("\n"),
      );
      log.info(run.output.trim());
      if (run.code !== 0) throw new Error(`maintenance mode or todo-status did not work (exit ${run.code})`);
    },
  );
}
