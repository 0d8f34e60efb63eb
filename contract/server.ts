/**
 * The server contract: the names and places the infra stack, the cloud-init renderer, the release
 * builder, the deploy command and the on-server scripts agree on. One module, imported by all of
 * them, importing none of them (test/contract/dependencies.test.ts enforces the direction). The
 * shell scripts under cloud-init/bin use the same literal paths; test/contract/server.test.ts
 * checks that they do.
 */

/** Short machine name of the app: system user, /opt/<name>, unit prefix, env directory. */
export const DEFAULT_APP_NAME = "todo-api";

/** Commands installed on every server (from the release's server kit). */
export const SETUP_COMMAND = "/usr/local/sbin/todo-setup";
export const RELEASE_COMMAND = "/usr/local/sbin/todo-release";
/** First-boot installer: packages, pinned Node.js, host baseline. Shipped in user data and in the release. */
export const BOOTSTRAP_COMMAND = "/usr/local/sbin/todo-bootstrap";

/**
 * The shell library every server script sources first (strict mode, one log format, die, retry,
 * locks): cloud-init/lib/common.sh. Written by cloud-init beside todo-bootstrap and by the kit.
 */
export const SHELL_LIBRARY_PATH = "/usr/local/lib/todo/common.sh";

/**
 * Alerts from the server: the notifier, run by the OnFailure= handler
 * (<app>-alert@.service) and the checker timer (<app>-alert-check.timer); `todo-alert --dry-run
 * check` prints what it would send.
 */
export const ALERT_COMMAND = "/usr/local/sbin/todo-alert";
/** The webhook URL (a secret: chat-bot webhooks carry their token in it). Root only; not the app's env file. */
export const ALERT_WEBHOOK_PATH = "/etc/todo-alert/webhook";
/** One state file per check (open incidents) and the log of sent messages (the rate limit). */
export const ALERT_STATE_DIR = "/var/lib/todo-alert";
/** todo-alert's parts (notifier, incidents, checks), sourced from beside the shared shell library. */
export const ALERT_LIB_DIR = "/usr/local/lib/todo";

/** Host settings (shell `KEY='value'` lines) every server script sources. No secrets. */
export const HOST_CONF_PATH = "/etc/todo-host.conf";
/** The server's memory plan (app MemoryMax, PostgreSQL's sizes), written by the kit from MemTotal. */
export const MEMORY_CONF_PATH = "/etc/todo-memory.conf";
/** The same settings as the validated options (JSON) they were rendered from: the kit's input. */
export const HOST_OPTIONS_PATH = "/etc/todo-host.json";
/** Written by todo-setup when every step succeeded; todo-release refuses to switch without it. */
export const SETUP_DONE_PATH = "/var/lib/todo-setup/done";
/** Where the deploy unpacks a release's server kit before installing it. */
export const KIT_STAGING_DIR = "/var/lib/todo-setup/kit";

/** The app's env file (secrets live here, written over SSH, never in user data). */
export const envFilePath = (appName: string = DEFAULT_APP_NAME) => `/etc/${appName}/env`;

/** Keys of the env file the deploy step or todo-setup write. */
export const ENV_KEYS = {
  jwtSecret: "JWT_SECRET",
  databaseUrl: "DATABASE_URL",
  trustedProxies: "TRUSTED_PROXIES",
  nodeEnv: "NODE_ENV",
  dataDir: "DATA_DIR",
} as const;

/**
 * The instance role's short-lived credentials for the files bucket, as JSON
 * `{AccessKeyId, SecretAccessKey, SessionToken, ExpiredTime}`: written by the privileged
 * `<app>-files-credentials` unit (the app cannot reach the metadata service), 0640 root:<app>.
 */
export const FILES_CREDENTIALS_SCRIPT = "/usr/local/lib/todo/files-credentials.mjs";
export const filesCredentialsPath = (appName: string = DEFAULT_APP_NAME) => `/run/${appName}-files/credentials.json`;

/**
 * Auto scaling (docs/auto-scaling.md): the first fixed server publishes each deploy in the private
 * bucket (todo-fleet-publish, run by the deploy step), the scaling group's servers pull it
 * (todo-fleet-join: at first boot from the user data, then todo-fleet-sync.timer).
 */
export const FLEET_PUBLISH_COMMAND = "/usr/local/sbin/todo-fleet-publish";
export const FLEET_JOIN_COMMAND = "/usr/local/sbin/todo-fleet-join";
/** The join's code and the module of signed requests it imports, beside the shell library. */
export const FLEET_JOIN_SCRIPT = "/usr/local/lib/todo/fleet-join.mjs";
export const ROLE_CLIENT_SCRIPT = "/usr/local/lib/todo/role-client.mjs";
/** The lock todo-fleet-join runs under, so the first boot's join and the timer's never overlap. */
export const FLEET_JOIN_LOCK = "/run/todo-fleet-join.lock";

/** Object key prefix of the off-server backups in the TOS bucket (IAM policy, lifecycle, offsite.mjs). */
export const BACKUP_PREFIX = "postgres/";

/** ECS rejects user data above 16 KB (measured on the text before base64). */
export const USER_DATA_LIMIT_BYTES = 16 * 1024;
/** What this project allows itself: everything else travels in the release. */
export const USER_DATA_BUDGET_BYTES = 6 * 1024;
/**
 * A fleet member's user data also carries the join and the module it imports (about 7 KB gzipped
 * and base64-encoded): its own budget, still well inside ECS's limit.
 */
export const FLEET_MEMBER_USER_DATA_BUDGET_BYTES = 14 * 1024;
