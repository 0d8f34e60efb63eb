import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createTcpServer, type AddressInfo, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, beforeAll, beforeEach, expect } from "vitest";
import { selfSignedCertificate, startSmtpSink, type SmtpSink } from "../../harness/support/smtp-sink.js";
import { requireTool } from "../support/tools.js";
import { renderedFiles, runAsync, variants } from "./helpers.js";

export const openssl = requireTool("openssl");
// todo-alert delivers with curl (the webhook over HTTP, the e-mail over SMTP), and the relay's
// STARTTLS certificate is made with openssl: without either, the suites skip.
export const curl = requireTool("curl");
export const deliveryToolsMissing = curl.missing || openssl.missing;
/** A tmpfs in a mount namespace of the test's own (a full filesystem without touching the host's). */
export const canMount = spawnSync("unshare", ["-rm", "true"]).status === 0;

/**
 * The harness of the todo-alert suites: todo-alert as rendered for a server with a domain and an
 * alert e-mail, run for real against a webhook receiver (node:http) and the SMTP sink on 127.0.0.1
 * (offering STARTTLS). systemctl and journalctl are
 * stand-ins answering from files (which unit failed, what its run logged); everything else —
 * df, openssl, curl, the state files — is real.
 */
export const dir = mkdtempSync(join(tmpdir(), "todo-alert-"));
export const state = join(dir, "state");
export const failed = join(dir, "failed");
export const live = join(dir, "live");
export const backups = join(dir, "backups");
export const appRoot = join(dir, "app");
export const marker = join(dir, "health-ready");
export const webhookFile = join(dir, "etc-alert/webhook");
export const heartbeatFile = join(dir, "etc-alert/heartbeat-url");
export const overflow = join(dir, "run");
export const restarts = join(dir, "restarts");
export const rebootRequired = join(dir, "reboot-required");
export const libDir = join(dir, "lib");
export const caFile = join(dir, "smtp-ca.pem");
export const JWT = "jwt-secret-value-that-must-never-leave-0123456789";
export const HOOK_TOKEN = "hook-token-3f9a8b7c";
export const LOGGED_PASSWORD = "hunter2-in-a-logged-url";

export interface Hook {
  path: string;
  json: Record<string, string>;
}
export let sink: SmtpSink;
export let plainSink: SmtpSink;
export let hooks: Hook[] = [];
export let pings = 0;
let hookServer: Server;
export let hookUrl = "";
let silentServer: ReturnType<typeof createTcpServer>;
const silentSockets: Socket[] = [];
export let silentPort = 0;

export const rendered = renderedFiles({ ...variants["local, domain"]!, alertEmail: "oncall@example.com" });
export const script = join(dir, "todo-alert");

beforeAll(async () => {
  if (deliveryToolsMissing) return;
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

export function alert(args: string[], env: Record<string, string> = {}, input?: string, command = ["bash", script]) {
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

export const fail = (unit: string) => writeFileSync(join(failed, unit), "");
export const recover = (unit: string) => rmSync(join(failed, unit), { force: true });
export const everything = () =>
  [...hooks.map((h) => JSON.stringify(h.json)), ...sink.mails.map((m) => m.raw)].join("\n");
export const subjects = () => sink.mails.map((m) => /^Subject: (.*)$/m.exec(m.raw)?.[1]?.trim());

export function expectNoSecret() {
  const sent = everything();
  for (const secret of [JWT, "db-password-xyz", sink.password, HOOK_TOKEN, LOGGED_PASSWORD, "a".repeat(40)]) {
    expect(sent).not.toContain(secret);
  }
}

export function certificate(days: number) {
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
