import { readFileSync } from "node:fs";
import { stringify } from "yaml";
import { z } from "zod";
import {
  cloudInitOptionsSchema,
  type CloudInitOptions,
  type ResolvedCloudInitOptions,
} from "./options.js";
import { createTar, gzipDeterministic } from "../contract/tar.js";
import { apiNodeFlags } from "./node-flags.js";

/** EC2-style user-data limit, which Volcengine ECS shares. */
export const USER_DATA_LIMIT_BYTES = 16 * 1024;

/** Where cloud-init writes the archive of server files; `runcmd` unpacks it into `/`. */
export const SERVER_FILES_ARCHIVE = "/var/lib/todo-setup/files.tar";

/** A file the server gets (unpacked by `runcmd`, then todo-setup does the rest). */
export interface ServerFile {
  path: string;
  content: string;
  permissions: "0644" | "0755";
}

const source = (relative: string): string =>
  readFileSync(new URL(`./${relative}`, import.meta.url), "utf8");

/**
 * Drops full-line comments and blank lines (keeping a shebang and shellcheck directives) and says
 * where the commented original lives: user data is limited to 16 KB, the explanations stay in the
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
  const note = `${marker} Installed by cloud-init; commented source: cloud-init/${source} in the project.`;
  if (kept[0]?.startsWith("#!")) kept.splice(1, 0, note);
  else kept.unshift(note);
  return `${kept.join("\n")}\n`;
}

/** Replaces `{{name}}` placeholders; an unknown placeholder is a bug in a template, so it throws. */
function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`template placeholder {{${name}}} has no value`);
    return value;
  });
}

/** Single-quoted shell assignment; the option schema already refuses quotes in free-text values. */
const shellValue = (value: string | number): string => `'${String(value).replace(/'/g, `'\\''`)}'`;

export function parseCloudInitOptions(options: CloudInitOptions): ResolvedCloudInitOptions {
  const parsed = cloudInitOptionsSchema.safeParse(options);
  if (!parsed.success) {
    throw new Error(`Invalid cloud-init options:\n${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

/** The host settings every server script reads (/etc/todo-host.conf). No secrets. */
export function renderHostConf(o: ResolvedCloudInitOptions): string {
  const values: Record<string, string | number> = {
    APP_NAME: o.appName,
    APP_ENVIRONMENT: o.environment,
    APP_PORTS: o.appPorts.join(" "),
    DB_MODE: o.databaseMode,
    DB_NAME: o.appName.replace(/-/g, "_"),
    DOMAIN: o.domain ?? "",
    ACME_EMAIL: o.acmeEmail ?? "",
    NODE_MAJOR: o.nodeMajor,
    NODE_MIRROR: o.nodeMirror,
    BACKUP_RETENTION_DAYS: o.backupRetentionDays,
    KEEP_RELEASES: o.keepReleases,
    ...(o.offsiteBackup
      ? {
          OFFSITE_BUCKET: o.offsiteBackup.bucket,
          OFFSITE_REGION: o.offsiteBackup.region,
          OFFSITE_ENDPOINT: o.offsiteBackup.endpoint,
          OFFSITE_ROLE: o.offsiteBackup.roleName,
        }
      : {}),
  };
  const lines = Object.entries(values).map(([key, value]) => `${key}=${shellValue(value)}`);
  return `# Host settings from the stack configuration, written by cloud-init. No secrets here.\n${lines.join("\n")}\n`;
}

/** Every file the server gets, with templates filled in for these options. */
export function serverFiles(input: CloudInitOptions): ServerFile[] {
  const o = parseCloudInitOptions(input);
  const app = o.appName;
  const values = {
    app,
    appVar: app.replace(/-/g, "_"),
    domain: o.domain ?? "",
    memoryMax: String(o.appMemoryMaxMiB),
    nodeFlags: apiNodeFlags(o.appMemoryMaxMiB).join(" "),
    readyzResolve: o.domain ? `--resolve ${o.domain}:443:127.0.0.1 ` : "",
    upstreamServers: o.appPorts
      .map((port) => `  server 127.0.0.1:${port} max_fails=0;`)
      .join("\n"),
  };
  const file = (path: string, template: string, permissions: ServerFile["permissions"] = "0644") => {
    const content = fill(source(template), values);
    return { path, content: stripComments(content, template), permissions };
  };

  const files: ServerFile[] = [
    { path: "/etc/todo-host.conf", content: renderHostConf(o), permissions: "0644" },
    file("/usr/local/sbin/todo-setup", "bin/todo-setup", "0755"),
    file("/usr/local/sbin/todo-release", "bin/todo-release", "0755"),
    file(`/etc/systemd/system/${app}@.service`, "systemd/app@.service"),
    file(`/etc/nginx/conf.d/${app}.conf`, "nginx/http.conf"),
    file(`/etc/nginx/snippets/${app}-proxy.conf`, "nginx/proxy.conf"),
    file(`/etc/nginx/sites-available/${app}-http.conf`, "nginx/site-http.conf"),
    file(`/etc/systemd/journald.conf.d/60-${app}.conf`, "etc/journald.conf"),
    file("/etc/apt/apt.conf.d/52todo-auto-upgrades", "etc/auto-upgrades"),
    file(`/etc/systemd/system/${app}-health.service`, "systemd/app-health.service"),
    file(`/etc/systemd/system/${app}-health.timer`, "systemd/app-health.timer"),
  ];
  if (o.databaseMode === "local") {
    files.push(
      file("/usr/local/sbin/todo-backup", "bin/todo-backup", "0755"),
      file("/usr/local/sbin/todo-restore", "bin/todo-restore", "0755"),
      file(`/etc/systemd/system/${app}-backup.service`, "systemd/app-backup.service"),
      file(`/etc/systemd/system/${app}-backup.timer`, "systemd/app-backup.timer"),
    );
  } else if (o.offsiteBackup) {
    // rds: a daily dump of RDS only for the independent copy in TOS (restore: docs/operations.md).
    files.push(
      file("/usr/local/sbin/todo-backup", "bin/todo-backup", "0755"),
      file(`/etc/systemd/system/${app}-backup.service`, "systemd/app-backup-rds.service"),
      file(`/etc/systemd/system/${app}-backup.timer`, "systemd/app-backup.timer"),
    );
  }
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

/** The server files as one tar archive (paths relative to `/`, root-owned, fixed order and times). */
export function serverFilesArchive(options: CloudInitOptions): Buffer {
  return createTar(
    serverFiles(options).map((f) => ({
      path: f.path.slice(1),
      type: "file" as const,
      mode: parseInt(f.permissions, 8),
      content: Buffer.from(f.content),
    })),
  );
}

/**
 * The instance's user data: `#cloud-config` that writes the server files and runs todo-setup.
 * The files travel as ONE gzip+base64 `write_files` entry holding a tar archive: compressed
 * together they fit the 16 KB user-data limit with room to spare, which one entry per file does
 * not. Packages are installed by todo-setup, not cloud-init's `packages`: at first boot apt is
 * often locked (apt-daily, unattended-upgrades), and cloud-init gives up on the lock and marks the
 * boot failed, while todo-setup waits for it and retries. Only modules and keys that cloud-init
 * 22.4 (Debian 12) knows are used. Deterministic: the same options give the same text.
 */
export function renderCloudInit(options: CloudInitOptions): string {
  const o = parseCloudInitOptions(options);
  const config = {
    write_files: [
      {
        path: SERVER_FILES_ARCHIVE,
        owner: "root:root",
        permissions: "0600",
        encoding: "gz+b64",
        content: gzipDeterministic(serverFilesArchive(o)).toString("base64"),
      },
    ],
    runcmd: [
      ["tar", "-xf", SERVER_FILES_ARCHIVE, "-C", "/", "--no-same-owner"],
      ["/usr/local/sbin/todo-setup"],
    ],
  };
  const text = `#cloud-config\n${stringify(config, { lineWidth: 0 })}`;
  const size = Buffer.byteLength(text);
  if (size > USER_DATA_LIMIT_BYTES) {
    throw new Error(`rendered cloud-config is ${size} bytes, over the ${USER_DATA_LIMIT_BYTES}-byte user-data limit`);
  }
  return text;
}
