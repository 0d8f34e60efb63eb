import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { renderCloudInit, serverFiles, stripComments, USER_DATA_BUDGET_BYTES } from "../../cloud-init/render.js";
import { decodeCloudConfig, renderedFiles, run, variants } from "./helpers.js";
import { requireTool } from "../support/tools.js";

const cloudInit = requireTool("cloud-init");
const dir = mkdtempSync(join(tmpdir(), "cloud-init-render-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function schema(text: string) {
  const file = join(dir, `config-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, text);
  return run("cloud-init", ["schema", "--config-file", file]);
}

describe.skipIf(cloudInit.missing).each(Object.entries(variants))("rendered cloud-config (%s)", (_name, options) => {
  const text = renderCloudInit(options);
  const { config, files: userDataFiles } = decodeCloudConfig(text);
  const files = renderedFiles(options);
  const local = options.databaseMode === "local";
  const withDomain = Boolean(options.domain);

  it("is #cloud-config within the project's 4 KB user-data budget", () => {
    expect(text.startsWith("#cloud-config\n")).toBe(true);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(USER_DATA_BUDGET_BYTES);
  });

  it("passes `cloud-init schema`", () => {
    const r = schema(text);
    expect(r.stderr + r.stdout).toContain("Valid cloud-config");
    expect(r.status).toBe(0);
  });

  it("contains nothing Terraform would interpolate and is deterministic", () => {
    expect(text).not.toMatch(/\$\{|%\{/);
    expect(renderCloudInit(options)).toBe(text);
  });

  it("holds only the host settings, todo-bootstrap and its shell library (the release carries everything else), with their modes", () => {
    const expected = serverFiles(options).filter((f) =>
      ["/etc/todo-host.conf", "/usr/local/sbin/todo-bootstrap", "/usr/local/lib/todo/common.sh"].includes(f.path),
    );
    expect([...userDataFiles.keys()].sort()).toEqual(expected.map((f) => f.path).sort());
    for (const f of expected) {
      const got = userDataFiles.get(f.path)!;
      expect(got.content, f.path).toBe(f.content);
      expect(got.mode.toString(8), f.path).toBe(f.permissions.slice(1));
    }
    expect(Object.keys(config).sort()).toEqual(["runcmd", "ssh_pwauth", "write_files"]);
    expect(config.ssh_pwauth).toBe(false);
    expect(config.runcmd).toEqual([["/usr/local/sbin/todo-bootstrap"]]);
  });

  it("ships backups only in local mode, Certbot's files only with a domain", () => {
    expect(files.has("/usr/local/sbin/todo-backup")).toBe(local);
    expect(files.has("/etc/systemd/system/todo-api-backup.timer")).toBe(local);
    expect(files.has("/etc/nginx/sites-available/todo-api-https.conf")).toBe(withDomain);
    expect(files.has("/etc/systemd/system/todo-api-certificate.timer")).toBe(withDomain);
    expect(files.has("/etc/letsencrypt/renewal-hooks/deploy/reload-nginx")).toBe(withDomain);
  });

  it("carries the host settings and no secret", () => {
    const conf = files.get("/etc/todo-host.conf")!.content;
    expect(conf).toContain("APP_NAME='todo-api'");
    expect(conf).toContain("APP_PORTS='3001 3002'");
    expect(conf).toContain(`DB_MODE='${options.databaseMode}'`);
    expect(conf).toContain(`DOMAIN='${options.domain ?? ""}'`);
    expect(conf).toContain("NODE_MIRROR='https://nodejs.org/dist'");
    for (const f of files.values()) {
      expect(f.content, f.path).not.toMatch(/(JWT_SECRET|DATABASE_URL|PASSWORD)=['"]?[A-Za-z0-9]/);
    }
  });

  it("points the Nginx upstream at every app port and the unit at the memory limit", () => {
    const http = files.get("/etc/nginx/conf.d/todo-api.conf")!.content;
    expect(http).toContain("server 127.0.0.1:3001");
    expect(http).toContain("server 127.0.0.1:3002");
    expect(http).toMatch(/keepalive \d+;/);
    // the memory plan of a 2 GiB server (memory-budget.ts): PostgreSQL's share goes to the app in rds mode
    expect(files.get("/etc/systemd/system/todo-api@.service")!.content).toContain(`MemoryMax=${local ? 512 : 736}M`);
    if (withDomain) {
      const https = files.get("/etc/nginx/sites-available/todo-api-https.conf")!.content;
      expect(https).toContain("/etc/letsencrypt/live/api.example.com/fullchain.pem");
      expect(https).toContain("return 301 https://api.example.com$request_uri;");
    }
    for (const f of files.values()) expect(f.content, f.path).not.toContain("{{");
  });
});

describe.skipIf(cloudInit.missing)("cloud-config options", () => {
  it("follows appPorts, nodeMirror and the other options", () => {
    const files = renderedFiles({
      environment: "staging",
      databaseMode: "local",
      appPorts: [4001, 4002, 4003],
      nodeMirror: "https://npmmirror.com/mirrors/node/",
      nodeVersion: "22.3.1",
      nodeSha256: { x64: "a".repeat(64) },
      backupRetentionDays: 14,
      appMemoryMaxMiB: 768,
      keepReleases: 3,
    });
    const conf = files.get("/etc/todo-host.conf")!.content;
    expect(conf).toContain("APP_PORTS='4001 4002 4003'");
    expect(conf).toContain("NODE_MIRROR='https://npmmirror.com/mirrors/node'");
    expect(conf).toContain("NODE_VERSION='22.3.1'");
    expect(conf).toContain(`NODE_SHA256_X64='${"a".repeat(64)}'`);
    expect(conf).toContain("APP_MEMORY_MAX_MIB='768'");
    expect(conf).toContain("BACKUP_RETENTION_DAYS='14'");
    expect(conf).toContain("KEEP_RELEASES='3'");
    expect(files.get("/etc/nginx/conf.d/todo-api.conf")!.content).toContain("server 127.0.0.1:4003");
    const unit = files.get("/etc/systemd/system/todo-api@.service")!.content;
    expect(unit).toContain("MemoryMax=768M");
    // V8's heap limit follows MemoryMax, leaving 128 MiB for the rest of the process.
    expect(unit).toContain(
      "ExecStart=/usr/local/bin/node --no-allocation-site-pretenuring --max-semi-space-size=16 --max-old-space-size=640 /opt/todo-api/current/server.mjs",
    );
  });

  it.each([
    [{ environment: "prod", databaseMode: "local", domain: "api.example.com" }, /acmeEmail is required/],
    [
      { environment: "prod", databaseMode: "local", domain: "https://api.example.com", acmeEmail: "a@b.co" },
      /fully qualified domain name[\s\S]*at domain/,
    ],
    [{ environment: "prod", databaseMode: "local", appPorts: [3001] }, /appPorts/],
    [{ environment: "prod", databaseMode: "local", appPorts: [3001, 3001] }, /must not repeat/],
    [{ environment: "prod", databaseMode: "sqlite" }, /databaseMode/],
    [{ environment: "prod", databaseMode: "local", nodeMirror: "ftp://mirror" }, /nodeMirror/],
    [{ environment: "Prod!", databaseMode: "local" }, /environment/],
    [{ environment: "prod", databaseMode: "local", extra: 1 }, /extra/],
  ])("refuses %j", (options, message) => {
    expect(() => renderCloudInit(options as never)).toThrow(message);
  });

  it("`cloud-init schema` does reject a broken cloud-config (the check can fail)", () => {
    const r = schema("#cloud-config\nwrite_files:\n  - content: 5\n    encoding: rot13\n");
    expect(r.status).not.toBe(0);
  });

  it("strips comments but keeps the shebang and shellcheck directives, and points at the source", () => {
    const script =
      "#!/usr/bin/env bash\n# a comment\n\n  # indented\n# shellcheck source=/dev/null\necho '# not a comment' # trailing\n";
    expect(stripComments(script, "bin/x")).toBe(
      "#!/usr/bin/env bash\n# Managed by the release's server kit: a deploy overwrites changes made here; commented source: cloud-init/bin/x in the project.\n# shellcheck source=/dev/null\necho '# not a comment' # trailing\n",
    );
    expect(stripComments('// apt\nAPT::X "1";\n', "etc/a")).toBe(
      '// Managed by the release\'s server kit: a deploy overwrites changes made here; commented source: cloud-init/etc/a in the project.\nAPT::X "1";\n',
    );
    expect(stripComments("[Unit]\n# why\nDescription=x\n", "systemd/u")).toBe(
      "# Managed by the release's server kit: a deploy overwrites changes made here; commented source: cloud-init/systemd/u in the project.\n[Unit]\nDescription=x\n",
    );
    // indentation goes, except in here-documents; a comment after a function's brace goes too
    const indented = "#!/bin/bash\nf() { # what f does\n  if x; then\n    cat <<'SQL'\n  keep  this\nSQL\n  fi\n}\n";
    expect(stripComments(indented, "bin/y")).toBe(
      "#!/bin/bash\n# Managed by the release's server kit: a deploy overwrites changes made here; commented source: cloud-init/bin/y in the project.\nf() {\nif x; then\ncat <<'SQL'\n  keep  this\nSQL\nfi\n}\n",
    );
  });
});
