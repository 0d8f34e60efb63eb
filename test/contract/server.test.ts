import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  ALERT_STATE_DIR,
  ALERT_WEBHOOK_PATH,
  BACKUP_PREFIX,
  BOOTSTRAP_COMMAND,
  HOST_CONF_PATH,
  RELEASE_COMMAND,
  SETUP_COMMAND,
  SETUP_DONE_PATH,
  SHELL_LIBRARY_PATH,
} from "../../contract/index.js";

/** The shell and .mjs sides of the contract cannot import it; they must spell the same values. */
const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8");

describe("server contract", () => {
  it("offsite.mjs stores backups under the contract's prefix", () => {
    expect(read("cloud-init/lib/offsite.mjs")).toContain(`const PREFIX = "${BACKUP_PREFIX}";`);
  });

  it("the server scripts use the contract's paths", () => {
    // every script reads the host settings through the shell library
    expect(read("cloud-init/lib/common.sh")).toContain(`\${TODO_HOST_CONF:-${HOST_CONF_PATH}}`);
    expect(read("cloud-init/bin/todo-setup")).toContain(`\${TODO_RELEASE_CMD:-${RELEASE_COMMAND}}`);
    expect(read("cloud-init/bin/todo-setup")).toContain(`\${TODO_SETUP_DONE:-${SETUP_DONE_PATH}}`);
    expect(read("cloud-init/bin/todo-setup")).toContain(`\${TODO_BOOTSTRAP_CMD:-${BOOTSTRAP_COMMAND}}`);
    expect(read("cloud-init/bin/todo-release")).toContain(`\${TODO_SETUP_DONE:-${SETUP_DONE_PATH}}`);
    expect(read("cloud-init/bin/todo-install")).toContain(`\${TODO_SETUP_DONE:-${SETUP_DONE_PATH}}`);
    expect(read("cloud-init/bin/todo-install")).toContain(SETUP_COMMAND);
    expect(read("cloud-init/bin/todo-alert")).toContain(`\${TODO_ALERT_WEBHOOK_FILE:-${ALERT_WEBHOOK_PATH}}`);
    expect(read("cloud-init/bin/todo-alert")).toContain(`\${TODO_ALERT_STATE_DIR:-${ALERT_STATE_DIR}}`);
    for (const script of [
      "todo-backup",
      "todo-restore",
      "todo-release",
      "todo-setup",
      "todo-install",
      "todo-bootstrap",
      "todo-certificate",
      "reload-nginx",
    ])
      expect(read(`cloud-init/bin/${script}`)).toContain(` ${SHELL_LIBRARY_PATH}; do`);
    expect(read("cloud-init/systemd/app-alert@.service")).toContain(
      `StateDirectory=${ALERT_STATE_DIR.replace("/var/lib/", "")}`,
    );
  });
});
