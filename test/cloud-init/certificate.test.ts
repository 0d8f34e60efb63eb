import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { renderedFiles, run, variants, SHELL_LIBRARY_ENV } from "./helpers.js";

/**
 * todo-certificate with stand-in certbot, nginx and systemctl that record their arguments:
 * the decisions (wait for DNS, retry on failure, switch to HTTPS, fall back) on a temporary tree.
 * `localhost` stands for a domain whose DNS is in place, `*.invalid` for one whose DNS is not.
 */
const dir = mkdtempSync(join(tmpdir(), "todo-certificate-"));
const script = join(dir, "todo-certificate");
const nginxDir = join(dir, "nginx");
const live = join(dir, "live");
const calls = join(dir, "calls.log");
const enabled = join(nginxDir, "sites-enabled/todo-api.conf");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const standIn = (name: string, body = "") => {
  writeFileSync(join(dir, name), `#!/bin/sh\necho "${name} $*" >>"${calls}"\n${body}`);
  chmodSync(join(dir, name), 0o755);
};

function certificate(
  domain: string,
  opts: { certbotSucceeds?: boolean; nginxOk?: boolean; graceMinutes?: number } = {},
) {
  const rendered = renderedFiles(variants["local, domain"]!);
  writeFileSync(script, rendered.get("/usr/local/sbin/todo-certificate")!.content);
  writeFileSync(
    join(dir, "host.conf"),
    rendered.get("/etc/todo-host.conf")!.content.replace(/^DOMAIN=.*$/m, `DOMAIN='${domain}'`),
  );
  // a successful certbot leaves the certificate where Let's Encrypt puts it
  standIn(
    "certbot",
    opts.certbotSucceeds
      ? `mkdir -p "${live}/${domain}" && echo cert >"${live}/${domain}/fullchain.pem"\n`
      : "exit 1\n",
  );
  standIn("nginx-cmd", opts.nginxOk === false ? "exit 1\n" : "");
  standIn("systemctl");
  return run("bash", [script], {
    env: {
      PATH: process.env.PATH,
      ...SHELL_LIBRARY_ENV,
      TODO_HOST_CONF: join(dir, "host.conf"),
      TODO_ACME_ROOT: join(dir, "acme"),
      TODO_LETSENCRYPT_LIVE: live,
      TODO_NGINX_DIR: nginxDir,
      TODO_CERTBOT: join(dir, "certbot"),
      TODO_NGINX: join(dir, "nginx-cmd"),
      SYSTEMCTL: join(dir, "systemctl"),
      TODO_CERTIFICATE_STATE_DIR: join(dir, "state"),
      ...(opts.graceMinutes === undefined ? {} : { CERTIFICATE_GRACE_MINUTES: String(opts.graceMinutes) }),
    },
  });
}
const recorded = () => (existsSync(calls) ? readFileSync(calls, "utf8").trim().split("\n") : []);

beforeEach(() => {
  rmSync(calls, { force: true });
  rmSync(join(dir, "state"), { recursive: true, force: true });
  rmSync(live, { recursive: true, force: true });
  rmSync(nginxDir, { recursive: true, force: true });
  mkdirSync(join(nginxDir, "sites-enabled"), { recursive: true });
  symlinkSync(join(nginxDir, "sites-available/todo-api-http.conf"), enabled);
});

describe("todo-certificate", () => {
  it("waits, without calling certbot, while the domain does not resolve", () => {
    const r = certificate("api.example.invalid", { certbotSucceeds: true });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain("does not resolve yet; serving plain HTTP meanwhile");
    expect(recorded()).toEqual([]);
    expect(readlinkSync(enabled)).toContain("todo-api-http.conf");
  });

  it("keeps plain HTTP and retries later when certbot fails", () => {
    const r = certificate("localhost", { certbotSucceeds: false });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain("will retry");
    expect(recorded()).toHaveLength(1);
    expect(readlinkSync(enabled)).toContain("todo-api-http.conf");
  });

  it("obtains the certificate non-interactively by webroot, switches Nginx to HTTPS and stops retrying", () => {
    const r = certificate("localhost", { certbotSucceeds: true });
    expect(r.status, r.stderr).toBe(0);
    const [certbot, ...rest] = recorded();
    expect(certbot).toBe(
      `certbot certonly --webroot --webroot-path ${join(dir, "acme")} --domain localhost --email ops@example.com --agree-tos --no-eff-email --non-interactive --keep-until-expiring`,
    );
    expect(rest).toEqual([
      "nginx-cmd -t -q",
      "systemctl reload nginx",
      "systemctl disable --now todo-api-certificate.timer",
    ]);
    expect(readlinkSync(enabled)).toBe(join(nginxDir, "sites-available/todo-api-https.conf"));
    expect(existsSync(join(dir, "acme/.well-known/acme-challenge"))).toBe(true);
  });

  it("does not call certbot again once the certificate exists", () => {
    mkdirSync(join(live, "localhost"), { recursive: true });
    writeFileSync(join(live, "localhost/fullchain.pem"), "cert");
    const r = certificate("localhost", { certbotSucceeds: true });
    expect(r.status).toBe(0);
    expect(recorded().some((c) => c.startsWith("certbot"))).toBe(false);
    expect(readlinkSync(enabled)).toContain("todo-api-https.conf");
  });

  it("stays on HTTP when the HTTPS configuration does not pass nginx -t", () => {
    const r = certificate("localhost", { certbotSucceeds: true, nginxOk: false });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("staying on HTTP");
    expect(readlinkSync(enabled)).toBe(join(nginxDir, "sites-available/todo-api-http.conf"));
    expect(recorded().some((c) => c.includes("reload"))).toBe(false);
  });

  it("fails after the grace period while the domain still does not resolve, and says so", () => {
    expect(certificate("api.example.invalid", { graceMinutes: 120 }).status).toBe(0);
    const r = certificate("api.example.invalid", { graceMinutes: 0 });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("still no certificate for api.example.invalid");
    expect(r.stderr).toContain("api.example.invalid has no A record");
  });

  it("fails after the grace period when certbot keeps failing, naming where DNS points", () => {
    const r = certificate("localhost", { certbotSucceeds: false, graceMinutes: 0 });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("certbot could not obtain a certificate");
    // 127.0.0.1 is no global address of this machine: the public address cannot be known from here
    expect(r.stderr).toMatch(
      /localhost points at 127\.0\.0\.1; this server's public address cannot be known from here/,
    );
  });

  it("counts the grace period from the first failed attempt and forgets it once the certificate is there", () => {
    expect(certificate("localhost", { certbotSucceeds: false, graceMinutes: 60 }).status).toBe(0);
    const since = readFileSync(join(dir, "state/waiting-since"), "utf8");
    expect(certificate("localhost", { certbotSucceeds: false, graceMinutes: 60 }).status).toBe(0);
    expect(readFileSync(join(dir, "state/waiting-since"), "utf8")).toBe(since);
    expect(certificate("localhost", { certbotSucceeds: true, graceMinutes: 60 }).status).toBe(0);
    expect(existsSync(join(dir, "state/waiting-since"))).toBe(false);
  });
});
