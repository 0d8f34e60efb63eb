import type { Migration } from "kysely";
import * as m0001 from "./0001_initial.js";
import * as m0002 from "./0002_sync_and_retries.js";
import * as m0003 from "./0003_account_mail.js";
import * as m0004 from "./0004_roles_and_admin.js";
import * as m0006 from "./0006_todo_counts.js";
import * as m0007 from "./0007_attachments.js";

/**
 * Every migration, by name, in order. A static record (not a folder scan) so the production
 * bundle carries its migrations inside it.
 */
export const migrations: Record<string, Migration> = {
  "0001_initial": m0001,
  "0002_sync_and_retries": m0002,
  "0003_account_mail": m0003,
  "0004_roles_and_admin": m0004,
  "0006_todo_counts": m0006,
  "0007_attachments": m0007,
};
