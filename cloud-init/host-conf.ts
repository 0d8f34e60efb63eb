/**
 * The host settings file (/etc/todo-host.conf), both ways: written from the cloud-init options at
 * first boot and by every deploy, and read back by the kit's installer on the server (and by every
 * server script, as shell assignments). No secrets.
 */
import { fleetHostSettings } from "./fleet-kit.js";
import { type CloudInitOptions, parseCloudInitOptions, type ResolvedCloudInitOptions } from "./options.js";

/** Single-quoted shell assignment; the option schema already refuses quotes in free-text values. */
const shellValue = (value: string | number): string => `'${String(value).replace(/'/g, `'\\''`)}'`;

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
    NODE_VERSION: o.nodeVersion,
    NODE_SHA256_X64: o.nodeSha256.x64,
    NODE_SHA256_ARM64: o.nodeSha256.arm64 ?? "",
    // empty: derived from the server's memory at each deploy (memory-budget.ts)
    APP_MEMORY_MAX_MIB: o.appMemoryMaxMiB ?? "",
    NODE_MIRROR: o.nodeMirror,
    BACKUP_RETENTION_DAYS: o.backupRetentionDays,
    KEEP_RELEASES: o.keepReleases,
    // Only when set: the host settings (and so the deploy trigger) of a server without it stay as they were.
    ...(o.alertEmail ? { ALERT_EMAIL: o.alertEmail } : {}),
    ...(o.adminConsoleCidrs.length > 0 ? { ADMIN_CONSOLE_CIDRS: o.adminConsoleCidrs.join(" ") } : {}),
    ...(o.offsiteBackup
      ? {
          OFFSITE_BUCKET: o.offsiteBackup.bucket,
          OFFSITE_REGION: o.offsiteBackup.region,
          OFFSITE_ENDPOINT: o.offsiteBackup.endpoint,
          OFFSITE_ROLE: o.offsiteBackup.roleName,
        }
      : {}),
    // Only when set, like ALERT_EMAIL: a server without files keeps its settings (and deploy trigger).
    ...(o.filesCredentials ? { FILES_ROLE: o.filesCredentials.roleName } : {}),
    // Auto scaling (fleet-kit.ts): only with the seed or fleet option, like the two above.
    ...fleetHostSettings(o),
  };
  const lines = Object.entries(values).map(([key, value]) => `${key}=${shellValue(value)}`);
  return `# Host settings from the stack configuration, written at first boot and by every deploy. No secrets here.\n${lines.join("\n")}\n`;
}

/** Reads `KEY='value'` lines as written by renderHostConf (single quotes, `'\''` for a quote). */
export function parseHostConf(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (!m) continue;
    let raw = m[2]!;
    if (raw.startsWith("'") && raw.endsWith("'") && raw.length >= 2) raw = raw.slice(1, -1).replace(/'\\''/g, "'");
    values.set(m[1]!, raw);
  }
  return values;
}

/**
 * The cloud-init options a host.conf was rendered from. Also reads the host.conf of a server set up
 * by an earlier version (no NODE_VERSION, APP_MEMORY_MAX_MIB): the missing values take the
 * defaults of this release (the pinned Node.js), and the kit then rewrites host.conf in full.
 */
export function optionsFromHostConf(text: string): CloudInitOptions {
  const v = parseHostConf(text);
  const get = (key: string) => {
    const value = v.get(key);
    return value === undefined || value === "" ? undefined : value;
  };
  const required = (key: string) => {
    const value = get(key);
    if (value === undefined) throw new Error(`host settings lack ${key}`);
    return value;
  };
  const num = (key: string) => (get(key) === undefined ? undefined : Number(get(key)));
  const bucket = get("OFFSITE_BUCKET");
  const options: Record<string, unknown> = {
    appName: get("APP_NAME"),
    environment: required("APP_ENVIRONMENT"),
    databaseMode: required("DB_MODE"),
    domain: get("DOMAIN"),
    acmeEmail: get("ACME_EMAIL"),
    alertEmail: get("ALERT_EMAIL"),
    nodeVersion: get("NODE_VERSION"),
    nodeSha256: get("NODE_VERSION")
      ? { x64: get("NODE_SHA256_X64"), ...(get("NODE_SHA256_ARM64") ? { arm64: get("NODE_SHA256_ARM64") } : {}) }
      : undefined,
    nodeMirror: get("NODE_MIRROR"),
    appPorts: get("APP_PORTS")?.split(/\s+/).map(Number),
    adminConsoleCidrs: get("ADMIN_CONSOLE_CIDRS")?.split(/\s+/),
    backupRetentionDays: num("BACKUP_RETENTION_DAYS"),
    appMemoryMaxMiB: num("APP_MEMORY_MAX_MIB"),
    keepReleases: num("KEEP_RELEASES"),
    offsiteBackup: bucket
      ? {
          bucket,
          region: required("OFFSITE_REGION"),
          endpoint: required("OFFSITE_ENDPOINT"),
          roleName: required("OFFSITE_ROLE"),
        }
      : undefined,
    filesCredentials: get("FILES_ROLE") ? { roleName: get("FILES_ROLE") } : undefined,
    seed: get("SEED_GROUP_ID")
      ? {
          groupId: get("SEED_GROUP_ID"),
          appRoleName: required("SEED_APP_ROLE"),
          region: required("SEED_REGION"),
          endpoint: required("SEED_ENDPOINT"),
        }
      : undefined,
    fleet: get("FLEET_BUCKET")
      ? {
          bucket: get("FLEET_BUCKET"),
          region: required("FLEET_REGION"),
          endpoint: required("FLEET_ENDPOINT"),
          member: required("FLEET_MEMBER") === "1",
          ...(get("FLEET_ROLE") ? { roleName: get("FLEET_ROLE") } : {}),
        }
      : undefined,
  };
  for (const key of Object.keys(options)) if (options[key] === undefined) delete options[key];
  return parseCloudInitOptions(options as CloudInitOptions);
}
