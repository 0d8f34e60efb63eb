import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { installServerFiles } from "../../cloud-init/kit.js";
import { serverFiles, type TemplateSource } from "../../cloud-init/render.js";
import { requireTool } from "../support/tools.js";
import { run, SHELL_LIBRARY_ENV, variants } from "./helpers.js";
import { fleetMember, seedServer } from "./fleet-variants.js";

const nginx = requireTool("nginx");
const systemdAnalyze = requireTool("systemd-analyze");

/**
 * The kit is validated before it is installed, and an install records every file it changes as it
 * goes. todo-kit-check runs on a staged tree against this machine's real Nginx (its /etc/nginx is
 * only read: the check works on a copy) and systemd-analyze; the installer runs on a small tmpfs.
 */
const dir = mkdtempSync(join(tmpdir(), "kit-staging-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const checker = new URL("../../cloud-init/bin/todo-kit-check", import.meta.url).pathname;
const options = variants["local, domain"]!;
const repository: TemplateSource = (relative) =>
  readFileSync(new URL(`../../cloud-init/${relative}`, import.meta.url), "utf8");

function stage(name: string, source: TemplateSource = repository, variant = options): string {
  const root = join(dir, name);
  installServerFiles(serverFiles(variant, source), root, "/.manifest");
  return root;
}
const check = (root: string) =>
  run("bash", [checker, root], {
    timeout: 120_000,
    env: {
      PATH: process.env.PATH,
      ...SHELL_LIBRARY_ENV,
      TODO_HOST_CONF: join(root, "etc/todo-host.conf"),
      TODO_NODE: process.execPath,
    },
  });

describe.skipIf(nginx.missing || systemdAnalyze.missing || !existsSync("/etc/nginx/nginx.conf"))(
  "todo-kit-check",
  () => {
    it("passes the kit as rendered", () => {
      const r = check(stage("good"));
      expect(r.stderr).toContain("staged server kit validated");
      expect(r.status, r.stderr).toBe(0);
    });

    it("passes the kits of the auto-scaling servers (the seed and publisher, a fleet member)", () => {
      for (const [name, variant] of Object.entries({ seedServer, fleetMember })) {
        const r = check(stage(name, repository, variant));
        expect(r.stderr).toContain("staged server kit validated");
        expect(r.status, r.stderr).toBe(0);
      }
    });

    it("refuses a kit whose Nginx configuration nginx -t rejects, naming the live path", () => {
      const broken: TemplateSource = (relative) =>
        relative === "nginx/proxy.conf"
          ? `${repository(relative)}\nproxy_pass_header_bogus on;\n`
          : repository(relative);
      const r = check(stage("bad-nginx", broken));
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain("Nginx refuses the staged configuration");
      expect(r.stderr).toContain("/etc/nginx/snippets/todo-api-proxy.conf");
      expect(r.stderr).toContain("nothing on this server was changed");
    });

    it("refuses a kit with a unit systemd rejects, and a script that does not parse", () => {
      const broken: TemplateSource = (relative) =>
        relative === "systemd/app-health.timer"
          ? repository(relative).replace("OnUnitActiveSec=1min", "OnUnitActiveSec=every minute")
          : relative === "bin/todo-backup"
            ? `${repository(relative)}\nif then\n`
            : repository(relative);
      const r = check(stage("bad-units", broken));
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain("/usr/local/sbin/todo-backup does not parse");
      expect(r.stderr).toMatch(/systemd refuses a staged unit[\s\S]*todo-api-health\.timer/);
    });
  },
);

// A full disk is a tmpfs this process mounts, which needs root (CI runs as root; a newcomer's
// `npm test` does not, and skips it).
const canMountHere = process.getuid?.() === 0;

describe.skipIf(!canMountHere)("installServerFiles records what it changes as it goes", () => {
  it("an install cut short by a full disk leaves its changes listed for todo-setup, and no partial file", () => {
    const root = join(dir, "full");
    mkdirSync(root, { recursive: true });
    expect(run("mount", ["-t", "tmpfs", "-o", "size=48k", "tmpfs", root]).status).toBe(0);
    const records = { changed: "/changed", history: "/kit-changes.log", previous: "/kit-previous" };
    const files = serverFiles(options);
    try {
      expect(() => installServerFiles(files, root, "/manifest", records)).toThrow(/ENOSPC/);
      const firstRun = readFileSync(join(root, "changed"), "utf8").trim().split("\n");
      expect(firstRun.length).toBeGreaterThan(3);
      // room again: the deploy is run again
      expect(run("mount", ["-o", "remount,size=8m", root]).status).toBe(0);
      installServerFiles(files, root, "/manifest", records);
      const listed = new Set(readFileSync(join(root, "changed"), "utf8").trim().split("\n"));
      for (const f of files) expect(listed.has(f.path), f.path).toBe(true);
      const partials = (d: string): string[] =>
        readdirSync(d, { withFileTypes: true }).flatMap((e) =>
          e.isDirectory() ? partials(join(d, e.name)) : e.name.includes(".kit-") ? [join(d, e.name)] : [],
        );
      expect(partials(root)).toEqual([]);
      expect(readFileSync(join(root, "kit-changes.log"), "utf8")).toMatch(/^\S+Z added \/etc\/todo-host\.conf$/m);
    } finally {
      run("umount", [root]);
    }
  });
});
