import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { installServerFiles } from "../../cloud-init/kit.js";
import { optionsFromHostConf } from "../../cloud-init/host-conf.js";
import { serverFiles } from "../../cloud-init/render.js";
import { parseCloudInitOptions } from "../../cloud-init/options.js";
import { renderHostConf } from "../../cloud-init/host-conf.js";
import { variants } from "./helpers.js";
import { requireTool } from "../support/tools.js";

const nft = requireTool("nft");

/** The server kit's installer (server/kit.mjs in a release): host settings in, server files out. */
const dir = mkdtempSync(join(tmpdir(), "kit-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const offsite = {
  bucket: "todo-api-prod-backup-0123",
  region: "cn-beijing",
  endpoint: "https://tos-s3-cn-beijing.volces.com",
  roleName: "todo-api-prod-backup",
};

describe("host settings round trip", () => {
  it.each([
    ...Object.entries(variants),
    ["local, domain, backups", { ...variants["local, domain"]!, offsiteBackup: offsite, appMemoryMaxMiB: 384 }],
    [
      "admin console networks",
      { ...variants["local, no domain"]!, adminConsoleCidrs: ["198.51.100.7/32", "10.0.0.0/8"] },
    ],
  ])("%s: the kit reads back exactly the options host.conf was rendered from", (_name, options) => {
    const resolved = parseCloudInitOptions(options);
    expect(optionsFromHostConf(renderHostConf(resolved))).toEqual(resolved);
  });

  it("reads the host.conf of a server set up by the previous version, taking this release's Node.js pin", () => {
    const old = [
      "# Host settings from the stack configuration, written by cloud-init. No secrets here.", // that version's header
      "APP_NAME='todo-api'",
      "APP_ENVIRONMENT='dev'",
      "APP_PORTS='3001 3002'",
      "DB_MODE='local'",
      "DB_NAME='todo_api'",
      "DOMAIN=''",
      "ACME_EMAIL=''",
      "NODE_MAJOR='24'",
      "NODE_MIRROR='https://nodejs.org/dist'",
      "BACKUP_RETENTION_DAYS='7'",
      "KEEP_RELEASES='5'",
    ].join("\n");
    const options = optionsFromHostConf(old);
    expect(options).toEqual(parseCloudInitOptions({ environment: "dev", databaseMode: "local" }));
    expect(renderHostConf(parseCloudInitOptions(options))).toContain("NODE_VERSION=");
  });

  it("refuses settings that fail validation, with the key", () => {
    expect(() => optionsFromHostConf("APP_ENVIRONMENT='dev'\nDB_MODE='sqlite'\n")).toThrow(/databaseMode/);
    expect(() => optionsFromHostConf("DB_MODE='local'\n")).toThrow(/APP_ENVIRONMENT/);
  });
});

describe("installServerFiles", () => {
  const root = join(dir, "root");
  const manifest = "/var/lib/todo-setup/installed-files";

  it("writes every file once, then reports nothing changed", () => {
    const files = serverFiles(variants["local, domain"]!);
    const first = installServerFiles(files, root, manifest);
    expect(first.changed.sort()).toEqual(files.map((f) => f.path).sort());
    for (const f of files) {
      expect(readFileSync(join(root, f.path), "utf8")).toBe(f.content);
      expect((statSync(join(root, f.path)).mode & 0o777).toString(8)).toBe(f.permissions.slice(1));
    }
    expect(installServerFiles(files, root, manifest)).toEqual({ changed: [], removed: [], noteOnly: [] });
  });

  it("rewrites files that differ only in the note an earlier version wrote, without calling them changed", () => {
    const files = serverFiles(variants["local, domain"]!);
    // as the previous version installed them: "Installed by cloud-init" at the top
    const old = (text: string) =>
      text
        .replace(
          /^(#|\/\/) Managed by the release's server kit: a deploy overwrites changes made here;/m,
          "$1 Installed by cloud-init;",
        )
        .replace(
          /^# Host settings from the stack configuration, written at first boot and by every deploy\./m,
          "# Host settings from the stack configuration, written by cloud-init.",
        );
    const nginx = "/etc/nginx/conf.d/todo-api.conf";
    for (const f of files) writeFileSync(join(root, f.path), old(f.content));
    expect(readFileSync(join(root, nginx), "utf8")).toMatch(/^# Installed by cloud-init;/);
    const unit = "/etc/systemd/system/todo-api@.service";
    writeFileSync(
      join(root, unit),
      old(files.find((f) => f.path === unit)!.content).replace("TasksMax=256", "TasksMax=128"),
    );
    const result = installServerFiles(files, root, manifest);
    // a real change is still a change; the rest is a note, so nothing reloads Nginx for it
    expect(result.changed).toEqual([unit]);
    expect(result.noteOnly).toContain(nginx);
    expect(result.noteOnly).toContain("/etc/todo-host.conf");
    expect(result.noteOnly.length + 1).toBe(
      files.filter((f) => /Installed by cloud-init|written by cloud-init/.test(old(f.content))).length,
    );
    for (const f of files) expect(readFileSync(join(root, f.path), "utf8")).toBe(f.content);
    expect(installServerFiles(files, root, manifest)).toEqual({ changed: [], removed: [], noteOnly: [] });
  });

  it("rewrites a file changed by hand and restores its mode", () => {
    const files = serverFiles(variants["local, domain"]!);
    writeFileSync(join(root, "/usr/local/sbin/todo-release"), "tampered\n", { mode: 0o600 });
    expect(installServerFiles(files, root, manifest).changed).toEqual(["/usr/local/sbin/todo-release"]);
    expect((statSync(join(root, "/usr/local/sbin/todo-release")).mode & 0o777).toString(8)).toBe("755");
  });

  it("removes what the settings no longer want (domain removed: HTTPS site and certificate units go)", () => {
    const result = installServerFiles(serverFiles(variants["local, no domain"]!), root, manifest);
    expect(result.removed.sort()).toEqual(
      [
        "/etc/letsencrypt/renewal-hooks/deploy/reload-nginx",
        "/etc/nginx/sites-available/todo-api-https.conf",
        "/etc/systemd/system/todo-api-certificate.service",
        "/etc/systemd/system/todo-api-certificate.timer",
        "/usr/local/sbin/todo-certificate",
      ].sort(),
    );
    expect(result.changed).toContain("/etc/todo-host.conf");
    expect(existsSync(join(root, "/etc/nginx/sites-available/todo-api-https.conf"))).toBe(false);
  });

  it("never removes files it did not install (no manifest: a server set up by the previous version)", () => {
    const fresh = join(dir, "fresh");
    mkdirSync(join(fresh, "etc/nginx/sites-available"), { recursive: true });
    writeFileSync(join(fresh, "etc/nginx/sites-available/todo-api-https.conf"), "# from the old user data\n");
    const result = installServerFiles(serverFiles(variants["local, no domain"]!), fresh, manifest);
    expect(result.removed).toEqual([]);
    expect(existsSync(join(fresh, "etc/nginx/sites-available/todo-api-https.conf"))).toBe(true);
  });
});

describe("the previous version's user data (test/fixtures/previous-user-data.yaml)", () => {
  it("holds host settings this kit reads; converging them adds the Node.js pin", async () => {
    const { previousUserData } = await import("../../harness/rehearse/previous-user-data.js");
    const { decodeCloudConfigArchive } = await import("./helpers.js");
    const files = decodeCloudConfigArchive(previousUserData("http://10.0.0.1:8080"));
    const conf = files.get("/etc/todo-host.conf")!;
    expect(conf).toContain("NODE_MIRROR='http://10.0.0.1:8080'");
    expect(conf).not.toContain("NODE_VERSION=");
    const options = optionsFromHostConf(conf);
    expect(renderHostConf(parseCloudInitOptions(options))).toMatch(/^NODE_VERSION='\d+\.\d+\.\d+'$/m);
    // the old user data installed the server files the kit now owns
    expect(files.has("/usr/local/sbin/todo-setup")).toBe(true);
  });
});

describe.skipIf(nft.missing)("the host firewall (etc/firewall.nft)", () => {
  it("is a valid nftables ruleset: default drop inbound, SSH/HTTP/HTTPS accepted (nft -c)", async () => {
    const { run } = await import("./helpers.js");
    const rules = serverFiles(variants["local, no domain"]!).find(
      (f) => f.path === "/etc/todo-api-firewall.nft",
    )!.content;
    expect(rules).toContain("policy drop;");
    expect(rules).toContain("tcp dport { 22, 80, 443 } accept");
    const file = join(dir, "firewall.nft");
    writeFileSync(file, rules);
    const r = run("nft", ["-c", "-f", file]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });
});
