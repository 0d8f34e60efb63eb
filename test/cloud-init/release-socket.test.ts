import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { get } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeRelease, releaseEnv } from "./release-stand-in.js";
import { freePort, renderedFiles, run, variants } from "./helpers.js";
import { requireTool } from "../support/tools.js";

const curl = requireTool("curl");

/**
 * todo-release moving instances onto their socket units (app@.socket) and off them, against a
 * stand-in systemctl that keeps systemd's rule about the port: a socket unit cannot start while a
 * process of the instance holds 127.0.0.1:PORT itself (it would fail to bind), and a process of a
 * release that binds the port itself cannot start while the socket unit holds it. So a move done
 * in the wrong order fails here as it would on a server. The instances are real node servers.
 */
const STANDIN = `#!/usr/bin/env bash
set -u
echo "$*" >>"$STANDIN_STATE/systemctl.log"
action=$1; shift
now=; if [ "\${1:-}" = --now ]; then now=1; shift; fi
unit=\${1:-}; name=\${unit%.service}; name=\${name%.socket}; port=\${name#*@}
pidfile=$STANDIN_STATE/$port.pid; sockfile=$STANDIN_STATE/$port.socket
alive() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }
stop_service() {
  if alive; then pid=$(cat "$pidfile"); kill "$pid"; while kill -0 "$pid" 2>/dev/null; do sleep 0.02; done; fi
  rm -f "$pidfile" "$pidfile.on-socket"
}
start_service() {
  local release
  release=$(readlink -f "$TODO_ROOT/current")
  if [ -f "$sockfile" ] && [ ! -e "$release/SOCKET_ACTIVATION" ]; then
    echo "$unit: EADDRINUSE 127.0.0.1:$port (held by the socket unit)" >&2; return 1
  fi
  (cd "$release" && HOST=127.0.0.1 PORT=$port exec "$TODO_NODE" server.mjs >>"$STANDIN_STATE/$port.out" 2>&1 9>&-) &
  echo $! >"$pidfile"
  if [ -f "$sockfile" ]; then touch "$pidfile.on-socket"; fi
}
start_socket() {
  if alive && [ ! -f "$pidfile.on-socket" ]; then
    echo "$unit: failed to bind 127.0.0.1:$port: Address already in use" >&2; return 1
  fi
  touch "$sockfile"
}
case $action:$unit in
is-active:*.socket) if [ -f "$sockfile" ]; then echo active; else echo inactive; exit 3; fi ;;
is-active:*) if alive; then echo active; else echo inactive; exit 3; fi ;;
stop:*.socket) rm -f "$sockfile" ;;
stop:*) stop_service ;;
start:*.socket) start_socket ;;
start:*) alive || start_service ;;
restart:*) stop_service; start_service ;;
enable:*.socket) if [ -n "$now" ]; then start_socket; fi ;;
enable:* | disable:*) ;;
show:*) # show -p MainPID|NRestarts --value UNIT
  unit=\${4:-}; port=\${unit#*@}; pidfile=$STANDIN_STATE/$port.pid
  if [ "$2" = MainPID ] && alive; then cat "$pidfile"; else echo 0; fi ;;
*) echo "stand-in systemctl: unsupported: $action $unit" >&2; exit 1 ;;
esac
`;

const dir = mkdtempSync(join(tmpdir(), "todo-release-socket-"));
const root = join(dir, "opt");
const state = join(dir, "state");
const units = join(dir, "units");
const releaseCmd = join(dir, "todo-release");
let ports: number[] = [];

function release(args: string[]) {
  return run("bash", [releaseCmd, ...args], {
    timeout: 90_000,
    env: {
      ...releaseEnv({ dir, state, root }),
      TODO_DRAIN_PAUSE: "0",
      TODO_DRAIN_DIR: join(state, "drain"),
      TODO_NO_WAIT: "1",
      TODO_SETUP_DONE: join(state, "setup-done"),
      TODO_UNIT_DIR: units,
      TODO_KIT_ROOT: join(dir, "kit"),
      TODO_NODE_DIR: join(dir, "node"),
      TODO_SKIP_BACKUP: "1",
    },
  });
}

const calls = () => {
  const file = join(state, "systemctl.log");
  const lines = existsSync(file) ? readFileSync(file, "utf8").trim().split("\n") : [];
  rmSync(file, { force: true });
  return lines.filter((l) => !l.startsWith("show ") && !l.startsWith("is-active "));
};

function served(port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const req = get({ host: "127.0.0.1", port, path: "/readyz", agent: false }, (res) => {
      let text = "";
      res.on("data", (c: Buffer) => (text += c.toString()));
      res.on("end", () => resolve((JSON.parse(text) as { release: string }).release));
    });
    req.on("error", () => resolve(null));
  });
}

const releases = join(dir, "releases-in");
let selfBound: { path: string; hash: string };
let onSocket: { path: string; hash: string };

beforeAll(async () => {
  ports = [await freePort(), await freePort()];
  mkdirSync(state, { recursive: true });
  mkdirSync(units, { recursive: true });
  mkdirSync(releases, { recursive: true });
  const rendered = renderedFiles(variants["local, no domain"]!);
  writeFileSync(releaseCmd, rendered.get("/usr/local/sbin/todo-release")!.content);
  writeFileSync(`${units}/todo-api@.socket`, rendered.get("/etc/systemd/system/todo-api@.socket")!.content);
  writeFileSync(
    join(dir, "host.conf"),
    rendered.get("/etc/todo-host.conf")!.content.replace(/^APP_PORTS=.*$/m, `APP_PORTS='${ports.join(" ")}'`),
  );
  writeFileSync(join(dir, "env"), `MIGRATE_LOG=${join(state, "migrations.log")}\n`);
  writeFileSync(join(state, "setup-done"), "setup done (test)\n");
  writeFileSync(join(dir, "systemctl"), STANDIN);
  chmodSync(join(dir, "systemctl"), 0o755);
  selfBound = makeRelease(releases, "binds its port");
  onSocket = makeRelease(releases, "takes the socket", "good", { SOCKET_ACTIVATION: "LISTEN_FDS\n" });
});

afterAll(() => {
  for (const port of ports) {
    const pidfile = join(state, `${port}.pid`);
    if (existsSync(pidfile)) {
      try {
        process.kill(Number(readFileSync(pidfile, "utf8")), "SIGKILL");
      } catch {}
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(curl.missing).sequential("todo-release and the instances' socket units", () => {
  it("a release whose server binds its port itself runs without socket units", async () => {
    const r = release(["deploy", selfBound.path]);
    expect(r.status, r.stderr).toBe(0);
    for (const port of ports) {
      expect(await served(port)).toBe(selfBound.hash);
      expect(existsSync(join(state, `${port}.socket`))).toBe(false);
    }
    expect(calls().filter((c) => c.includes(".socket"))).toEqual([]);
  });

  it("the first release that takes the socket moves each instance onto its socket unit, one at a time", async () => {
    const r = release(["deploy", onSocket.path]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain("onto its socket unit");
    const log = calls();
    for (const port of ports) {
      const unit = `todo-api@${port}`;
      expect(log).toContain(`enable ${unit}.socket`);
      const i = log.indexOf(`stop ${unit}.service`);
      expect(log.slice(i, i + 3)).toEqual([
        `stop ${unit}.service`,
        `enable --now ${unit}.socket`,
        `start ${unit}.service`,
      ]);
      expect(await served(port)).toBe(onSocket.hash);
      expect(existsSync(join(state, `${port}.socket`))).toBe(true);
      expect(existsSync(join(state, `${port}.pid.on-socket`))).toBe(true);
    }
  });

  it("status says which instances are on their socket units", () => {
    const r = release(["status"]);
    expect(r.status, r.stderr).toBe(0);
    for (const port of ports)
      expect(r.stdout).toContain(
        `todo-api@${port}  active  ready  runs ${onSocket.hash} (current); on its socket unit`,
      );
    calls();
  });

  it("once on their sockets, a restart is a plain restart (the socket stays)", async () => {
    const r = release(["restart"]);
    expect(r.status, r.stderr).toBe(0);
    expect(calls()).toEqual(ports.map((p) => `restart todo-api@${p}`));
    for (const port of ports) expect(existsSync(join(state, `${port}.socket`))).toBe(true);
  });

  it("back to a release that binds its port itself, each instance moves off its socket unit first", async () => {
    const r = release(["rollback"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain("off its socket unit");
    const log = calls();
    for (const port of ports) {
      const unit = `todo-api@${port}`;
      const i = log.indexOf(`stop ${unit}.socket`);
      expect(log.slice(i, i + 4)).toEqual([
        `stop ${unit}.socket`,
        `stop ${unit}.service`,
        `disable ${unit}.socket`,
        `start ${unit}.service`,
      ]);
      expect(await served(port)).toBe(selfBound.hash);
      expect(existsSync(join(state, `${port}.socket`))).toBe(false);
    }
  });

  it("a kit without the socket unit leaves the instances bound to their ports, whatever the release", async () => {
    rmSync(join(units, "todo-api@.socket"));
    const r = release(["deploy", onSocket.path]);
    expect(r.status, r.stderr).toBe(0);
    expect(calls().filter((c) => c.includes(".socket"))).toEqual([]);
    for (const port of ports) expect(await served(port)).toBe(onSocket.hash);
  });
});
