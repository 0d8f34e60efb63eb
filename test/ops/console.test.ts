import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { remoteCommand, VERBS } from "../../scripts/ops/verbs.js";
import { freePort, renderedFiles, runAsync, variants } from "../cloud-init/helpers.js";
import { requireTool } from "../support/tools.js";

// The server's commands ask each instance's /readyz with curl (todo-release), as on a server.
const curl = requireTool("curl");

/**
 * `npm run ops` end to end without SSH: ssh is a stand-in that records its arguments and runs the
 * remote command with sh, on a temporary "server" holding the kit's rendered commands (todo-status,
 * todo-config, todo-maintenance, todo-console, todo-release, todo-alert and their libraries). Only
 * systemctl is a stand-in there; the commands, the env file, the lock and the app's /readyz are real.
 */
const dir = mkdtempSync(join(tmpdir(), "ops-console-"));
const sbin = join(dir, "server/sbin");
const lib = join(dir, "server/lib");
const root = join(dir, "opt");
const envFile = join(dir, "etc/env");
const sshLog = join(dir, "ssh.log");
const restarts = join(dir, "restarts.log");
let readyz: Server;
let readyPort = 0;
let closedPort = 0;

beforeAll(async () => {
  readyz = createServer((_req, res) => res.end("ok"));
  await new Promise<void>((r) => readyz.listen(0, "127.0.0.1", r));
  readyPort = (readyz.address() as AddressInfo).port;
  closedPort = await freePort();
  mkdirSync(sbin, { recursive: true });
  mkdirSync(lib, { recursive: true });
  const files = renderedFiles(variants["local, no domain"]!);
  for (const f of files.values()) {
    if (f.path.startsWith("/usr/local/sbin/")) writeFileSync(join(sbin, basename(f.path)), f.content, { mode: 0o755 });
    if (f.path.startsWith("/usr/local/lib/todo/")) writeFileSync(join(lib, basename(f.path)), f.content);
  }
  writeFileSync(
    join(dir, "host.conf"),
    files.get("/etc/todo-host.conf")!.content.replace(/^APP_PORTS=.*$/m, `APP_PORTS='${readyPort} ${closedPort}'`),
  );
  // todo-config --restart calls todo-release restart: recorded here (the rolling restart has its own suites)
  writeFileSync(
    join(sbin, "todo-release-for-config"),
    `#!/bin/sh\nif [ "$1" = restart ]; then echo restart >>${restarts}; exit 0; fi\nexec ${sbin}/todo-release "$@"\n`,
    { mode: 0o755 },
  );
  writeFileSync(
    join(dir, "systemctl"),
    // the backup unit exists once the test writes its result (a server with the backups)
    `#!/bin/sh\ncase $1 in is-active) echo active ;; show) case $2 in -p) [ "$3" = Result ] && cat ${dir}/backup-result ;; esac ;; cat) [ -e ${dir}/backup-result ] ;; esac\n`,
    { mode: 0o755 },
  );
  // ssh: records its arguments, then runs the remote command (the last one) on this "server"
  writeFileSync(
    join(dir, "ssh"),
    `#!/bin/bash\nprintf '%s\\n' "$*" >>${sshLog}\nexport PATH=${sbin}:$PATH\nexec sh -c "\${@: -1}"\n`,
    { mode: 0o755 },
  );
  chmodSync(join(dir, "ssh"), 0o755);
});

afterAll(async () => {
  await new Promise<void>((r) => readyz.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(sshLog, { force: true });
  rmSync(restarts, { force: true });
  mkdirSync(join(root, "releases/0123456789ab"), { recursive: true });
  writeFileSync(join(root, "releases/0123456789ab/RELEASE"), "0123456789ab\n");
  symlinkSync("releases/0123456789ab", join(root, "current"));
  mkdirSync(join(dir, "etc"), { recursive: true });
  writeFileSync(
    envFile,
    "JWT_SECRET=jwt-secret-value-0123456789abcdef\nDATABASE_URL=postgres://todo_api:db-pass@127.0.0.1:5432/todo_api\nFEATURE_X=on\n",
  );
});

function ops(args: string[], input?: string) {
  return runAsync(process.execPath, ["--import", "tsx", "scripts/ops.ts", "--host", "203.0.113.10", ...args], {
    input,
    env: {
      PATH: process.env.PATH,
      TODO_SSH: join(dir, "ssh"),
      TODO_HOST_CONF: join(dir, "host.conf"),
      TODO_COMMON: join(lib, "common.sh"),
      TODO_LOG_JOURNAL: "0",
      TODO_ENV_FILE: envFile,
      TODO_ENV_OWNER: "",
      TODO_NO_WAIT: "1",
      TODO_LOCK_FILE: join(dir, "release.lock"),
      TODO_RELEASE: join(sbin, "todo-release-for-config"),
      TODO_ROOT: root,
      TODO_RUN_AS: "",
      TODO_SBIN: sbin,
      TODO_MAINTENANCE_DIR: join(dir, "maintenance"),
      TODO_SETUP_DONE: join(dir, "setup-done"),
      TODO_DRAIN_DIR: join(dir, "run"),
      TODO_NODE_DIR: join(dir, "no-node"),
      TODO_BACKUP_DIR: join(dir, "backups"),
      TODO_ALERT_STATE_DIR: join(dir, "alert-state"),
      TODO_ALERT_RUN_DIR: join(dir, "alert-run"),
      SYSTEMCTL: join(dir, "systemctl"),
      TODO_JOURNALCTL: "true",
    },
  });
}

describe.skipIf(curl.missing)("npm run ops, through the server's own commands", () => {
  it("maintenance on, status, off: the flag Nginx reads", async () => {
    const on = await ops(["dev", "maintenance", "on"]);
    expect(on.status, on.stderr).toBe(0);
    expect(existsSync(join(dir, "maintenance/on"))).toBe(true);
    expect((await ops(["dev", "maintenance", "status"])).stdout).toMatch(/^maintenance: on since \d{4}-/);
    expect((await ops(["dev", "maintenance", "off"])).status).toBe(0);
    expect(existsSync(join(dir, "maintenance/on"))).toBe(false);
    // the flag is the file proxy.conf checks on every request
    const proxy = renderedFiles(variants["local, no domain"]!).get("/etc/nginx/snippets/todo-api-proxy.conf")!.content;
    expect(proxy).toContain("if (-f /var/lib/todo-api-maintenance/on)");
    expect(readFileSync(join(sbin, "todo-maintenance"), "utf8")).toContain("/var/lib/$APP_NAME-maintenance");
  });

  it("config set (value on stdin, never on the command line), list masks secrets, get, unset; set and unset restart", async () => {
    const set = await ops(["dev", "config", "set", "API_TOKEN"], "tok-4f1c2a9e7b");
    expect(set.status, set.stderr).toBe(0);
    expect(readFileSync(envFile, "utf8")).toContain("API_TOKEN=tok-4f1c2a9e7b\n");
    expect(readFileSync(sshLog, "utf8")).not.toContain("tok-4f1c2a9e7b");
    const list = await ops(["dev", "config", "list"]);
    expect(list.stdout).toContain("API_TOKEN=*** (14 characters)");
    expect(list.stdout).toContain("JWT_SECRET=*** (");
    expect(list.stdout).toContain("DATABASE_URL=postgres://todo_api:***@127.0.0.1:5432/todo_api");
    expect(list.stdout).toContain("FEATURE_X=on");
    expect(list.stdout).not.toContain("db-pass");
    expect((await ops(["dev", "config", "get", "API_TOKEN"])).stdout).toBe("tok-4f1c2a9e7b\n");
    const unset = await ops(["dev", "config", "unset", "FEATURE_X"]);
    expect(unset.status, unset.stderr).toBe(0);
    expect(readFileSync(envFile, "utf8")).not.toContain("FEATURE_X");
    expect(readFileSync(envFile, "utf8")).toContain("API_TOKEN=");
    expect(readFileSync(restarts, "utf8")).toBe("restart\nrestart\n");
    const refused = await ops(["dev", "config", "unset", "JWT_SECRET"]);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toContain("JWT_SECRET is written by the stack");
    expect((await ops(["dev", "config", "get", "NOPE"])).status).toBe(3);
  });

  it("run: a one-off command with the app's environment, in the current release", async () => {
    const r = await ops(["dev", "run", "--", "sh", "-c", 'echo "$FEATURE_X $(cat RELEASE) $HOME"']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(`on 0123456789ab ${root}\n`);
  });

  it("status: release and instances, drain, setup (todo-release status), maintenance; exit 3 when something needs a look", async () => {
    mkdirSync(join(dir, "run"), { recursive: true });
    writeFileSync(join(dir, "run", `drain-${readyPort}`), "");
    const r = await ops(["dev", "status"]);
    expect(r.stdout).toContain("current:  0123456789ab");
    expect(r.stdout).toMatch(new RegExp(`todo-api@${readyPort} +active +ready`));
    expect(r.stdout).toMatch(new RegExp(`todo-api@${closedPort} +active +NOT ready`));
    expect(r.stdout).toContain(`drain-${readyPort}`);
    expect(r.stdout).toContain("maintenance: off");
    expect(r.stdout).toMatch(/setup: +NOT done/);
    expect(r.stdout).toContain("no open incident");
    expect(r.stdout).toMatch(/needs a look: release migrations/);
    expect(r.status).toBe(3);
    rmSync(join(dir, "run", `drain-${readyPort}`), { force: true });
  });

  it("deploy HASH packs the kept release as a built one: the kit's files at the top, as the deploy's steps extract them", async () => {
    const kept = join(root, "releases/0123456789ab");
    writeFileSync(join(kept, "server.mjs"), "");
    writeFileSync(join(kept, "migrate.mjs"), "");
    mkdirSync(join(kept, "server"));
    writeFileSync(join(kept, "server/install"), "#!/bin/sh\n", { mode: 0o755 });
    const script = remoteCommand(VERBS.deploy!, ["0123456789ab"], "root");
    const pack = /\(cd \/opt\/todo-api\/releases\/0123456789ab && tar -czf (\S+) -- \*\)/.exec(script)!;
    const tarball = join(dir, "repacked.tar.gz");
    const r = await runAsync("sh", ["-c", pack[0].replace("/opt/todo-api", root).replace(pack[1]!, tarball)]);
    expect(r.status, r.stderr).toBe(0);
    const listed = await runAsync("tar", ["-tzf", tarball]);
    expect(listed.stdout.split("\n")).toEqual(
      expect.arrayContaining(["RELEASE", "server.mjs", "migrate.mjs", "server/install"]),
    );
    // the kit's own extraction (installKitCommands) finds server/ in it
    const out = mkdtempSync(join(dir, "stage-"));
    expect((await runAsync("tar", ["-xzf", tarball, "-C", out, "server"])).status).toBe(0);
    expect(existsSync(join(out, "server/install"))).toBe(true);
  });

  it("status shows the last backup as todo-backup recorded it: the dump, its check, the test restore", async () => {
    mkdirSync(join(dir, "backups"), { recursive: true });
    writeFileSync(join(dir, "backup-result"), "success\n");
    writeFileSync(
      join(dir, "backups/status"),
      "last_dump=todo_api-20261206T033000Z.dump\nlast_dump_verified=pg_restore --list\nlast_test_restore=ok\n",
    );
    try {
      const r = await ops(["dev", "status"]);
      expect(r.stdout).toContain("last run: never since boot (success)");
      expect(r.stdout).toContain("  last_dump_verified=pg_restore --list");
      expect(r.stdout).toContain("  last_test_restore=ok");
    } finally {
      rmSync(join(dir, "backup-result"));
      rmSync(join(dir, "backups"), { recursive: true });
    }
  });

  it("a usage error stops before connecting", async () => {
    const r = await ops(["dev", "config", "set", "bad key"]);
    expect(r.status).toBe(2);
    expect(existsSync(sshLog)).toBe(false);
  });
});
