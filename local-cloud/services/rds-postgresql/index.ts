import type { Service } from "../../api.js";
import { accountActions } from "./account.js";
import { allowListActions } from "./allow-list.js";
import { databaseActions } from "./database.js";
import { instanceActions } from "./instance.js";

/** The `rds_postgresql` service (2022-01-01, JSON POST). */
export const rdsPostgresqlActions: Service = {
  ...instanceActions,
  ...databaseActions,
  ...accountActions,
  ...allowListActions,
};
