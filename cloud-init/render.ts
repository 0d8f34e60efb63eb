import { readFileSync } from "node:fs";
import { stringify } from "yaml";
import { type CloudInitOptions, parseCloudInitOptions } from "./options.js";
import { renderHostConf } from "./host-conf.js";
import { gzipDeterministic } from "../contract/tar.js";
import {
  ALERT_COMMAND,
  ALERT_LIB_DIR,
  BOOTSTRAP_COMMAND,
  FILES_CREDENTIALS_SCRIPT,
  HOST_CONF_PATH,
  MEMORY_CONF_PATH,
  SHELL_LIBRARY_PATH,
  FLEET_MEMBER_USER_DATA_BUDGET_BYTES,
  USER_DATA_BUDGET_BYTES,
  USER_DATA_LIMIT_BYTES,
} from "../contract/server.js";
import { apiNodeFlags } from "./node-flags.js";
import { fleetFiles, fleetUserData } from "./fleet-kit.js";
import { memoryPlan, REFERENCE_MEM_TOTAL_MIB, renderMemoryConf } from "./memory-budget.js";

export { FLEET_MEMBER_USER_DATA_BUDGET_BYTES, USER_DATA_BUDGET_BYTES, USER_DATA_LIMIT_BYTES };

/** A write_files entry with its content gzipped and base64-encoded (cloud-init's gz+b64). */
const gzipped = (path: string, permissions: string, text: string) => ({
  path,
  owner: "root:root",
  permissions,
  encoding: "gz+b64",
  content: gzipDeterministic(Buffer.from(text)).toString("base64"),
});

/** A file the server gets (installed by the release's server kit, cloud-init/kit.ts). */
export interface ServerFile {
  path: string;
  content: string;
  permissions: "0644" | "0755";
}

/** Reads a template by its path relative to cloud-init/ (in the repository, or in a release's server/ kit). */
export type TemplateSource = (relative: string) => string;

const repositorySource: TemplateSource = (relative) => readFileSync(new URL(`./${relative}`, import.meta.url), "utf8");

/**
 * The note at the top of every file the kit installs. The release's server kit installs (and on
 * each deploy rewrites) these files; cloud-init writes only the first copy of todo-bootstrap.
 */
export const KIT_NOTE = "Managed by the release's server kit: a deploy overwrites changes made here";
/** Notes earlier versions wrote (a file differing only in its note is not a changed file, kit.ts). */
export const FORMER_KIT_NOTES = ["Installed by cloud-init"];

/**
 * Drops full-line comments and blank lines (keeping a shebang and shellcheck directives) and says
 * where the commented original lives: the installed files stay short, the explanations stay in the
 * repository. `#` comments for shell, Nginx and systemd; `//` for apt.conf.
 */
export function stripComments(text: string, source: string): string {
  const lines = text.split("\n");
  const marker = /^\s*\/\//.test(lines.find((l) => l.trim()) ?? "") ? "//" : "#";
  const kept = lines.filter(
    (line, i) =>
      (i === 0 && line.startsWith("#!")) ||
      (marker === "#" && /^\s*#\s*shellcheck /.test(line)) ||
      !(line.trim() === "" || line.trimStart().startsWith(marker)),
  );
  const note = `${marker} ${KIT_NOTE}; commented source: cloud-init/${source} in the project.`;
  if (kept[0]?.startsWith("#!")) kept.splice(1, 0, note);
  else kept.unshift(note);
  return `${unindent(kept).join("\n")}\n`;
}

/**
 * Drops leading indentation (insignificant in shell, Nginx, systemd and apt syntax), except inside
 * shell here-documents, whose text is kept as written, and the comment after a shell function's
 * opening brace. It once saved user-data bytes; it stays because every server deployed so far holds
 * unindented files, and dropping it would rewrite (and reload for) all of them at the next deploy.
 */
function unindent(lines: string[]): string[] {
  let hereDocEnd: RegExp | undefined;
  return lines.map((line) => {
    if (hereDocEnd) {
      if (hereDocEnd.test(line)) hereDocEnd = undefined;
      return line;
    }
    const opener = /<<(-?)\s*['"]?(\w+)['"]?/.exec(line.replace(/<<</g, ""));
    if (opener) hereDocEnd = new RegExp(`^${opener[1] ? "\\t*" : ""}${opener[2]}$`);
    // a comment after a shell function's opening brace says what it does: the source keeps it
    return line.trimStart().replace(/^([\w-]+\(\) \{) #.*$/, "$1");
  });
}

/** Replaces `{{name}}` placeholders; an unknown placeholder is a bug in a template, so it throws. */
function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`template placeholder {{${name}}} has no value`);
    return value;
  });
}

const upstreamServer = (port: number) => `  server 127.0.0.1:${port} max_fails=3 fail_timeout=10s;`;

/**
 * Every file the server gets, with templates filled in for these options and the memory plan of
 * a server with `memTotalMiB` (the kit passes the server's MemTotal; the default is 2 GiB).
 */
export function serverFiles(
  input: CloudInitOptions,
  source: TemplateSource = repositorySource,
  memTotalMiB: number = REFERENCE_MEM_TOTAL_MIB,
): ServerFile[] {
  const o = parseCloudInitOptions(input);
  const app = o.appName;
  const memory = memoryPlan(memTotalMiB, {
    databaseMode: o.databaseMode,
    instances: o.appPorts.length,
    appMemoryMaxMiB: o.appMemoryMaxMiB,
  });
  const values = {
    app,
    appVar: app.replace(/-/g, "_"),
    domain: o.domain ?? "",
    memoryMax: String(memory.appMemoryMaxMiB),
    nodeFlags: apiNodeFlags(memory.appMemoryMaxMiB).join(" "),
    readyzResolve: o.domain ? `--resolve ${o.domain}:443:127.0.0.1 ` : "",
    upstreamServers: o.appPorts.map(upstreamServer).join("\n"),
    adminConsoleAllow: ["127.0.0.1/32", ...o.adminConsoleCidrs].map((cidr) => `  ${cidr} 1;`).join("\n"),
    // For each instance, the group of the others and the check that switches to it (nginx/proxy.conf)
    drainUpstreams: o.appPorts
      .map(
        (port) =>
          `upstream ${app}-without-${port} {\n  zone ${app}-without-${port} 64k;\n${o.appPorts
            .filter((p) => p !== port)
            .map(upstreamServer)
            .join("\n")}\n  keepalive 32;\n}`,
      )
      .join("\n"),
    drainChecks: o.appPorts
      .map(
        (port) =>
          `if (-f /run/${app}/drain-${port}) { set $${app.replace(/-/g, "_")}_upstream ${app}-without-${port}; }`,
      )
      .join("\n"),
  };
  const file = (path: string, template: string, permissions: ServerFile["permissions"] = "0644") => {
    const content = fill(source(template), values);
    return { path, content: stripComments(content, template), permissions };
  };

  const files: ServerFile[] = [
    { path: HOST_CONF_PATH, content: renderHostConf(o), permissions: "0644" },
    { path: MEMORY_CONF_PATH, content: renderMemoryConf(memory), permissions: "0644" },
    // before the scripts that source it: a kit install cut short leaves no script without its library
    file(SHELL_LIBRARY_PATH, "lib/common.sh"),
    file(BOOTSTRAP_COMMAND, "bin/todo-bootstrap", "0755"),
    file("/usr/local/sbin/todo-setup", "bin/todo-setup", "0755"),
    file("/usr/local/sbin/todo-release", "bin/todo-release", "0755"),
    // The app's admin command (first administrator, audit-logged role changes): docs/admin.md.
    file("/usr/local/sbin/todo-admin", "bin/todo-admin", "0755"),
    // The operator's commands (npm run ops runs them over SSH).
    ...["todo-status", "todo-config", "todo-maintenance", "todo-console"].map((name) =>
      file(`/usr/local/sbin/${name}`, `bin/${name}`, "0755"),
    ),
    file(`/etc/systemd/system/${app}@.service`, "systemd/app@.service"),
    file(`/etc/systemd/system/${app}@.socket`, "systemd/app@.socket"),
    file(`/etc/nginx/conf.d/${app}.conf`, "nginx/http.conf"),
    file(`/etc/nginx/snippets/${app}-proxy.conf`, "nginx/proxy.conf"),
    file(`/etc/nginx/sites-available/${app}-http.conf`, "nginx/site-http.conf"),
    file(`/etc/systemd/journald.conf.d/60-${app}.conf`, "etc/journald.conf"),
    file("/etc/apt/apt.conf.d/52todo-auto-upgrades", "etc/auto-upgrades"),
    file(`/etc/systemd/system/${app}-health.service`, "systemd/app-health.service"),
    file(`/etc/systemd/system/${app}-health.timer`, "systemd/app-health.timer"),
    file(`/etc/${app}-firewall.nft`, "etc/firewall.nft"),
    file(`/etc/systemd/system/${app}-firewall.service`, "systemd/app-firewall.service"),
    // Alerts (todo-alert): the OnFailure= handler of the units above and the 5-minute checker.
    file(ALERT_COMMAND, "bin/todo-alert", "0755"),
    ...["alert-notify.sh", "alert-incidents.sh", "alert-checks.sh"].map((lib) =>
      file(`${ALERT_LIB_DIR}/${lib}`, `lib/${lib}`),
    ),
    file(`/etc/systemd/system/${app}-alert@.service`, "systemd/app-alert@.service"),
    file(`/etc/systemd/system/${app}-alert-check.service`, "systemd/app-alert-check.service"),
    file(`/etc/systemd/system/${app}-alert-check.timer`, "systemd/app-alert-check.timer"),
    file(`/etc/systemd/system/${app}-alert-watchdog.service`, "systemd/app-alert-watchdog.service"),
    file(`/etc/systemd/system/${app}-alert-watchdog.timer`, "systemd/app-alert-watchdog.timer"),
  ];
  if (o.databaseMode === "local") {
    files.push(
      file("/usr/local/sbin/todo-backup", "bin/todo-backup", "0755"),
      file("/usr/local/sbin/todo-restore", "bin/todo-restore", "0755"),
      file(`/etc/systemd/system/${app}-backup.service`, "systemd/app-backup.service"),
      file(`/etc/systemd/system/${app}-backup.timer`, "systemd/app-backup.timer"),
      file(`/etc/systemd/system/${app}-backup-verify.service`, "systemd/app-backup-verify.service"),
      file(`/etc/systemd/system/${app}-backup-verify.timer`, "systemd/app-backup-verify.timer"),
    );
  } else if (o.offsiteBackup) {
    // rds: a daily dump of RDS only for the independent copy in TOS (restore: docs/operations.md).
    files.push(
      file("/usr/local/sbin/todo-backup", "bin/todo-backup", "0755"),
      file(`/etc/systemd/system/${app}-backup.service`, "systemd/app-backup-rds.service"),
      file(`/etc/systemd/system/${app}-backup.timer`, "systemd/app-backup.timer"),
    );
  }
  if (o.filesCredentials) {
    // The instance role's credentials for the files bucket, copied where the app can read them.
    files.push(
      file(FILES_CREDENTIALS_SCRIPT, "lib/files-credentials.mjs"),
      file(`/etc/systemd/system/${app}-files-credentials.service`, "systemd/app-files-credentials.service"),
      file(`/etc/systemd/system/${app}-files-credentials.timer`, "systemd/app-files-credentials.timer"),
    );
  }
  for (const [path, template, permissions] of fleetFiles(o)) files.push(file(path, template, permissions));
  if (o.domain) {
    files.push(
      file("/usr/local/sbin/todo-certificate", "bin/todo-certificate", "0755"),
      file(`/etc/nginx/sites-available/${app}-https.conf`, "nginx/site-https.conf"),
      file(`/etc/systemd/system/${app}-certificate.service`, "systemd/app-certificate.service"),
      file(`/etc/systemd/system/${app}-certificate.timer`, "systemd/app-certificate.timer"),
      file("/etc/letsencrypt/renewal-hooks/deploy/reload-nginx", "bin/reload-nginx", "0755"),
    );
  }
  return files;
}

/**
 * The instance's user data: small and declarative. cloud-init writes the host settings
 * (/etc/todo-host.conf, no secrets), todo-bootstrap and the shell library it sources, turns SSH passwords off, and runs
 * todo-bootstrap once: the distribution's packages (PostgreSQL in local mode, Nginx, Certbot) and
 * the pinned, checksum-verified Node.js. Everything else — todo-setup, todo-release and every
 * other server script, unit and Nginx site — ships in the release and is installed by the deploy
 * step, which runs on every deploy and re-runs todo-bootstrap from the release too; so the user
 * data is never the only copy of anything and its one-shot nature does not matter.
 * Packages are installed by todo-bootstrap rather than cloud-init's `packages` module: at first
 * boot apt is often locked (apt-daily, unattended-upgrades) and cloud-init gives up on the lock,
 * while todo-bootstrap waits for it, bounds every download and retries. Only modules and keys
 * cloud-init 22.4 (Debian 12) knows are used. Deterministic: the same options give the same text.
 */
export function renderCloudInit(options: CloudInitOptions, source: TemplateSource = repositorySource): string {
  const o = parseCloudInitOptions(options);
  if (o.seed)
    throw new Error(
      "the seed option belongs in the deploy step's host settings only: user data never carries the scaling group's id",
    );
  const bootstrap = stripComments(source("bin/todo-bootstrap"), "bin/todo-bootstrap");
  const library = stripComments(source("lib/common.sh"), "lib/common.sh");
  const config = {
    ssh_pwauth: false,
    write_files: [
      { path: HOST_CONF_PATH, owner: "root:root", permissions: "0644", content: renderHostConf(o) },
      {
        path: SHELL_LIBRARY_PATH,
        owner: "root:root",
        permissions: "0644",
        encoding: "gz+b64",
        content: gzipDeterministic(Buffer.from(library)).toString("base64"),
      },
      {
        path: BOOTSTRAP_COMMAND,
        owner: "root:root",
        permissions: "0755",
        encoding: "gz+b64",
        content: gzipDeterministic(Buffer.from(bootstrap)).toString("base64"),
      },
    ],
    runcmd: [[BOOTSTRAP_COMMAND]],
  };
  // A fleet member joins with no deploy step: the join's code rides in the user data.
  const fleet = fleetUserData(o);
  if (fleet) {
    for (const [path, template, permissions] of fleet.files)
      config.write_files.push(gzipped(path, permissions, stripComments(source(template), template)));
    config.runcmd = [fleet.runcmd];
  }
  const text = `#cloud-config\n${stringify(config, { lineWidth: 0 })}`;
  const size = Buffer.byteLength(text);
  const budget = fleet ? FLEET_MEMBER_USER_DATA_BUDGET_BYTES : USER_DATA_BUDGET_BYTES;
  if (size > budget) {
    throw new Error(
      `rendered cloud-config is ${size} bytes, over the project's ${budget}-byte user-data budget${fleet ? " for a fleet member" : ""} (ECS allows ${USER_DATA_LIMIT_BYTES})`,
    );
  }
  return text;
}
