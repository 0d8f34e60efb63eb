/**
 * The operator's verbs as data: each one names the command it runs on the server (a kit command
 * installed by the release: todo-status, todo-config, todo-maintenance, todo-console, todo-release,
 * todo-backup's unit, todo-restore, todo-alert) and how it is run there. scripts/ops.ts gives every
 * verb the same SSH setup (target, bastion, sudo, terminal), so adding a verb is adding a row.
 */
import { installKitCommands, switchReleaseCommands } from "../../contract/deploy-steps.js";
import { DEFAULT_APP_NAME, RELEASE_COMMAND } from "../../contract/server.js";

export class UsageError extends Error {
  override name = "UsageError";
}

/** What the server runs: one command (words) or a POSIX shell script (lines, run with set -eu). */
export type Remote = { words: string[] } | { script: string[] };

export interface Verb {
  /** e.g. "config set KEY" — shown by `npm run ops -- --help`. */
  usage: string;
  summary: string;
  /** The server-side command for these arguments; throws UsageError when they are wrong. */
  remote(args: string[], app: string): Remote;
  /** Needs a terminal (a console, following logs): ssh -t. */
  tty?: (args: string[]) => boolean;
  /**
   * Runs on every app server of a cluster, one after the other, stopping at the first failure:
   * settings and maintenance mode must be the same on all of them. Others run on one server
   * (the first unless --server N; it is the one with the backups).
   */
  everyServer?: boolean;
  /** Hands this process's stdin to the server command (a value to set: never on a command line). */
  stdin?: boolean;
}

const KEY = /^[A-Z_][A-Z0-9_]*$/;
const HASH = /^[0-9a-f]{12}$/;

function only(args: string[], allowed: number, usage: string): void {
  if (args.length > allowed) throw new UsageError(`too many arguments: ${usage}`);
}
/** A verb without arguments. */
const noArgs =
  (usage: string, words: (app: string) => string[]) =>
  (args: string[], app: string): Remote => {
    only(args, 0, usage);
    return { words: words(app) };
  };
function key(args: string[], usage: string): string {
  const k = args[0];
  if (!k || !KEY.test(k)) throw new UsageError(`a variable name (A-Z, 0-9, _) is needed: ${usage}`);
  only(args, 1, usage);
  return k;
}

/** journalctl's view of each part of the server. */
const LOG_SOURCES: Record<string, (app: string) => string[]> = {
  app: (app) => ["-u", `${app}@*`],
  nginx: () => ["-u", "nginx"],
  backup: (app) => ["-u", `${app}-backup`],
  alerts: (app) => ["-t", "todo-alert", "-u", `${app}-alert*`],
  certificate: (app) => ["-u", `${app}-certificate`, "-u", "certbot"],
  setup: () => ["-t", "todo-setup", "-t", "todo-release", "-t", "todo-install"],
  postgresql: () => ["-u", "postgresql*"],
};

function logs(args: string[], app: string): Remote {
  let follow = false;
  let lines = "200";
  let since: string | undefined;
  const sources: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "-f" || a === "--follow") follow = true;
    else if (a === "-n" || a === "--lines") lines = args[++i] ?? "";
    else if (a === "--since") since = args[++i] ?? "";
    else if (LOG_SOURCES[a]) sources.push(a);
    else throw new UsageError(`unknown log source '${a}' (${Object.keys(LOG_SOURCES).join(", ")})`);
  }
  if (!/^\d{1,6}$/.test(lines)) throw new UsageError("--lines takes a number");
  if (since !== undefined && !/^[\w :+.-]{1,40}$/.test(since))
    throw new UsageError('--since takes a time journalctl understands ("1 hour ago", "2026-12-06 03:00")');
  const filters = (sources.length ? sources : ["app"]).flatMap((s) => LOG_SOURCES[s]!(app));
  return {
    words: [
      "journalctl",
      "--no-pager",
      ...filters,
      "-n",
      lines,
      ...(since ? ["--since", since] : []),
      ...(follow ? ["--follow"] : []),
    ],
  };
}

export const VERBS: Record<string, Verb> = {
  status: {
    usage: "status",
    summary: "release, Node.js, instances and drain, migrations, setup, last backup and its check, open alerts",
    remote: noArgs("status", () => ["todo-status"]),
  },
  logs: {
    usage: `logs [-f] [-n LINES] [--since TIME] [${Object.keys(LOG_SOURCES).join("|")}]...`,
    summary: "the journal of the app (default) or another part; -f follows",
    remote: logs,
    tty: (args) => args.includes("-f") || args.includes("--follow"),
  },
  run: {
    usage: "run -- COMMAND [ARG]...",
    summary: "a one-off command as the app user, with the app's environment, in the current release",
    remote: (args) => {
      const words = args[0] === "--" ? args.slice(1) : args;
      if (!words.length) throw new UsageError("run needs a command: run -- node -e '...'");
      return { words: ["todo-console", "run", "--", ...words] };
    },
    tty: () => true,
  },
  console: {
    usage: "console",
    summary: "a Node.js REPL as the app user with the app's environment",
    remote: noArgs("console", () => ["todo-console"]),
    tty: () => true,
  },
  migrate: {
    usage: "migrate status",
    summary: "which migrations ran and when (they run themselves at each deploy)",
    remote: (args) => {
      if (args[0] !== "status" || args.length > 1)
        throw new UsageError("only `migrate status`: migrations run at deploy");
      return { words: ["todo-console", "run", "--", "node", "migrate.mjs", "status"] };
    },
  },
  maintenance: {
    usage: "maintenance on|off|status",
    summary: "answer every API request with 503 maintenance (except /readyz) from Nginx, or stop",
    remote: (args) => {
      const what = args[0];
      if (!what || !["on", "off", "status"].includes(what) || args.length > 1)
        throw new UsageError("maintenance on|off|status");
      return { words: ["todo-maintenance", what] };
    },
    everyServer: true,
  },
  config: {
    usage: "config list | get KEY | set KEY (value on stdin) | unset KEY",
    summary: "the app's settings (/etc/<app>/env); set and unset restart the instances one at a time",
    remote: (args) => {
      const [sub, ...rest] = args;
      if (sub === "list") return noArgs("config list", () => ["todo-config", "list"])(rest, "");
      if (sub === "get") return { words: ["todo-config", "get", key(rest, "config get KEY")] };
      if (sub === "set") return { words: ["todo-config", "set", key(rest, "config set KEY"), "--restart"] };
      if (sub === "unset") return { words: ["todo-config", "unset", key(rest, "config unset KEY"), "--restart"] };
      throw new UsageError("config list | get KEY | set KEY | unset KEY");
    },
    everyServer: true,
    stdin: true,
  },
  releases: {
    usage: "releases",
    summary: "the releases kept on the server (deploy any of them), current and previous",
    remote: noArgs("releases", () => [RELEASE_COMMAND, "status"]),
  },
  deploy: {
    usage: "deploy HASH",
    summary: "deploy a release kept on the server (see releases): its kit, migrations, rolling restart",
    // Packs the kept release again and runs exactly the deploy's own steps on it.
    remote: (args, app) => {
      const hash = args[0];
      if (!hash || !HASH.test(hash) || args.length > 1)
        throw new UsageError("deploy HASH (12 hex digits; see releases)");
      const tarball = `/tmp/${app}-${hash}.tar.gz`;
      return {
        script: [
          `test -d /opt/${app}/releases/${hash} || { echo "release ${hash} is not kept on this server (see: releases)" >&2; exit 1; }`,
          // member names as in a built release (server/install, not ./server/install)
          `(cd /opt/${app}/releases/${hash} && tar -czf ${tarball} -- *)`,
          ...installKitCommands(tarball, hash, ""),
          ...switchReleaseCommands(tarball, "", app),
        ],
      };
    },
    everyServer: true,
  },
  restart: {
    usage: "restart",
    summary: "restart the instances one at a time, each drained and health-checked",
    remote: noArgs("restart", () => [RELEASE_COMMAND, "restart"]),
    everyServer: true,
  },
  backup: {
    usage: "backup",
    summary: "a backup now (the nightly unit: dump, check, off-site copy), then its log and todo-backup status",
    remote: (args, app) => {
      only(args, 0, "backup");
      return {
        script: [
          `rc=0; systemctl start --wait ${app}-backup.service || rc=$?`,
          `journalctl --no-pager -o cat -n 20 _SYSTEMD_INVOCATION_ID=$(systemctl show -p InvocationID --value ${app}-backup.service)`,
          // what it recorded: the dump, its pg_restore --list check
          "todo-backup status || true",
          "exit $rc",
        ],
      };
    },
  },
  restore: {
    usage: "restore latest|FILE|offsite:latest|offsite:YYYY-MM-DD|--list-offsite",
    summary: "restore the database from a backup (todo-restore: into a new database first, then swapped in)",
    remote: (args) => {
      const what = args[0];
      if (!what || args.length > 1) throw new UsageError("restore latest|FILE|offsite:latest|offsite:YYYY-MM-DD");
      if (!/^(latest|--list-offsite|offsite:(latest|\d{4}-\d{2}-\d{2})|\/[\w./-]+\.dump)$/.test(what))
        throw new UsageError(`restore: '${what}' is not a backup name`);
      return { words: ["todo-restore", what] };
    },
  },
  alerts: {
    usage: "alerts",
    summary: "the open incidents of todo-alert",
    remote: noArgs("alerts", () => ["todo-alert", "status"]),
  },
};

/** Quotes a word for the remote POSIX shell that sshd hands the command to. */
export const shellQuote = (word: string) =>
  /^[A-Za-z0-9_./:@=+%,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;

/**
 * The exact command line sshd runs for a verb: the words (or `sh -c` with the script), behind
 * `sudo -n` unless the SSH user is root.
 */
export function remoteCommand(verb: Verb, args: string[], user: string, app = DEFAULT_APP_NAME): string {
  const remote = verb.remote(args, app);
  const sudo = user === "root" ? [] : ["sudo", "-n"];
  const words = "words" in remote ? remote.words : ["sh", "-c", ["set -eu", ...remote.script].join("\n")];
  return [...sudo, ...words].map(shellQuote).join(" ");
}
