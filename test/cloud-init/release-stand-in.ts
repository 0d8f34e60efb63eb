import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createTar, gzipDeterministic } from "../../contract/tar.js";
import { SHELL_LIBRARY_ENV } from "./helpers.js";

/**
 * What the todo-release tests run the real script against: a stand-in `systemctl` whose
 * todo-api@PORT units are real node HTTP servers started from current/ (their pid files under
 * $STANDIN_STATE; MainPID is the process, whose working directory is the release it runs), and
 * release tarballs of a stand-in app.
 */
export const STANDIN_SYSTEMCTL = `#!/usr/bin/env bash
# Stand-in for systemctl: todo-api@PORT units are node processes started from current/.
set -u
action=$1
unit=\${2:-}
port=\${unit#*@}
pidfile=$STANDIN_STATE/$port.pid
log() { echo "$*" >>"$STANDIN_STATE/systemctl.log"; }
alive() { # a zombie (exited, not yet reaped by init) counts as gone
  local s
  s=$(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null)
  [ -n "$s" ] && [ "$s" != Z ]
}
running() { [ -f "$pidfile" ] && alive "$(cat "$pidfile")"; }
stop() {
  if running; then
    pid=$(cat "$pidfile"); kill "$pid"
    for _ in $(seq 100); do alive "$pid" || break; sleep 0.05; done
    kill -9 "$pid" 2>/dev/null
  fi
  rm -f "$pidfile"
}
start() {
  local release
  release=$(readlink -f "$TODO_ROOT/current")
  (
    cd "$release" || exit 1
    while IFS= read -r line; do export "\${line?}"; done <"$TODO_ENV_FILE"
    export HOST=127.0.0.1 PORT=$port
    exec "$TODO_NODE" server.mjs >>"$STANDIN_STATE/$port.out" 2>&1 9>&-
  ) &
  echo $! >"$pidfile"
}
others_up() {
  for p in $STANDIN_PORTS; do
    [ "$p" = "$port" ] && continue
    curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$p/readyz" && return 0
  done
  return 1
}
case $action in
restart)
  if others_up; then log "restart $unit others-up"; else log "restart $unit others-down"; fi
  stop; start ;;
start) log "start $unit"; running || start ;;
stop) log "stop $unit"; stop ;;
enable) log "enable $unit" ;;
is-active) if running; then echo active; else echo inactive; exit 3; fi ;;
show) # "show -p NRestarts|MainPID --value UNIT": a process that died counts as restarted by systemd
  unit=\${5:-}; port=\${unit#*@}; pidfile=$STANDIN_STATE/$port.pid
  if [ "$3" = MainPID ]; then if running; then cat "$pidfile"; else echo 0; fi; exit 0; fi
  if [ ! -f "$pidfile" ] || running; then echo 0; else echo 1; fi ;;
*) echo "stand-in systemctl: unsupported: $*" >&2; exit 1 ;;
esac
`;

/** Where a todo-release test keeps the tree the real script runs against. */
export interface ReleaseTree {
  /** The test's temporary folder: host.conf, the stand-in systemctl and the env file live here. */
  dir: string;
  /** The stand-in systemctl's state (pid files, its log) and the release lock. */
  state: string;
  /** TODO_ROOT: releases/ and the current link. */
  root: string;
  /** The app's env file (default: `<dir>/env`). */
  envFile?: string;
}

/**
 * The environment every todo-release test runs the script with: a temporary tree instead of the
 * server's paths, no users to switch to, this Node.js, the stand-in systemctl. Each test adds what
 * its own behaviour needs (drain folder, kit root, waits).
 */
export function releaseEnv(tree: ReleaseTree): Record<string, string | undefined> {
  return {
    PATH: process.env.PATH,
    ...SHELL_LIBRARY_ENV,
    TODO_HOST_CONF: join(tree.dir, "host.conf"),
    TODO_ROOT: tree.root,
    TODO_ENV_FILE: tree.envFile ?? join(tree.dir, "env"),
    TODO_ENV_OWNER: "",
    TODO_RUN_AS: "",
    TODO_NODE: process.execPath,
    TODO_READY_TIMEOUT: "6",
    TODO_LOCK_FILE: join(tree.state, "release.lock"),
    SYSTEMCTL: join(tree.dir, "systemctl"),
    STANDIN_STATE: tree.state,
  };
}

export type Mode = "good" | "unready" | "crash" | "bad-migration";

/** A release tarball of a stand-in app; `mode` decides how it behaves. */
export function makeRelease(
  dir: string,
  name: string,
  mode: Mode = "good",
  extraFiles: Record<string, string> = {},
): { path: string; hash: string } {
  const server = `import { createServer } from "node:http";
import { readFileSync } from "node:fs";
const release = readFileSync(new URL("./RELEASE", import.meta.url), "utf8").trim();
const mode = ${JSON.stringify(mode)};
if (mode === "crash") process.exit(1);
const server = createServer((req, res) => {
  const ok = mode !== "unready";
  res.writeHead(req.url === "/readyz" ? (ok ? 200 : 503) : 404, { "content-type": "application/json" });
  res.end(JSON.stringify({ release, greeting: process.env.GREETING ?? null, cwd: process.cwd() }));
});
server.listen(Number(process.env.PORT), process.env.HOST);
process.on("SIGTERM", () => { server.closeAllConnections(); server.close(() => process.exit(0)); });
`;
  const migrate = `import { appendFileSync, readFileSync } from "node:fs";
const release = readFileSync("RELEASE", "utf8").trim();
appendFileSync(process.env.MIGRATE_LOG, release + " " + process.argv[2] + " " + process.env.NODE_ENV + "\\n");
if (${JSON.stringify(mode)} === "bad-migration") { console.error("migration 0002 failed"); process.exit(1); }
`;
  const files: Record<string, string> = {
    "server.mjs": server,
    "migrate.mjs": migrate,
    "package.json": JSON.stringify({ name: "todo-api", private: true, type: "module", description: name }),
    ...extraFiles,
  };
  const hash = createHash("sha256").update(JSON.stringify(files)).digest("hex").slice(0, 12);
  files.RELEASE = `${hash}\n`;
  const tar = createTar(
    Object.entries(files)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([path, content]) => ({ path, type: "file" as const, mode: 0o644, content: Buffer.from(content) })),
  );
  const path = join(dir, `todo-api-${hash}.tar.gz`);
  writeFileSync(path, gzipDeterministic(tar));
  return { path, hash };
}
