import type { Call } from "../../api.js";
import { ApiError, invalid } from "../../errors.js";
import { required } from "../../params.js";
import type { Resource } from "../../store.js";

/** What the instance, database, account and allowlist calls share: names, lookups, the Running rule. */
export const ENGINES = [
  "PostgreSQL_11",
  "PostgreSQL_12",
  "PostgreSQL_13",
  "PostgreSQL_14",
  "PostgreSQL_15",
  "PostgreSQL_16",
  "PostgreSQL_17",
];
/** Instance names (RDS docs): 1-128 characters, not starting with a digit or "-"; letters, digits, Chinese, _ and -. */
export const INSTANCE_NAME = /^[\p{Script=Han}A-Za-z_][\p{Script=Han}A-Za-z0-9_-]{0,127}$/u;
/** Database and account names (RDS PostgreSQL docs): 2-63 characters, start with a letter, lowercase letters, digits, _. */
export const PG_NAME = /^[a-z][a-z0-9_]{1,62}$/;
export const RESERVED = ["postgres", "root", "admin", "rdsadmin", "replicator", "template0", "template1"];
/** Account password (docs): 8-32 characters from at least three of upper, lower, digits, symbols. */
export function checkPassword(p: string): void {
  const classes = [/[A-Z]/, /[a-z]/, /\d/, /[^A-Za-z0-9]/].filter((r) => r.test(p)).length;
  if (p.length < 8 || p.length > 32 || classes < 3)
    throw invalid(
      "AccountPassword",
      "8-32 characters with at least three of upper case, lower case, digits and symbols",
    );
}

export const notFound = (id: string) =>
  new ApiError(404, "InvalidInstanceId.NotFound", `The instance ${id} does not exist.`);

export function instanceOf(call: Call, id = required(call.params, "InstanceId")): Resource {
  const r = call.store.get("rds-pg-instance", id);
  if (!r) throw notFound(id);
  return r;
}

export function running(call: Call, id?: string): Resource {
  const r = instanceOf(call, id);
  // Refused or accepted is an open question (answers.ts, rdsChangesWhileBusy).
  if (r.fields.InstanceStatus !== "Running" && call.store.answers.rdsChangesWhileBusy === "refused") {
    throw new ApiError(
      409,
      "OperationDenied.InstanceStatus",
      `The instance ${r.id} is ${String(r.fields.InstanceStatus)}; the operation needs it Running.`,
    );
  }
  return r;
}

/** Instances move their `InstanceStatus` (the store's transitions move `Status`): both are kept equal. */
export function settle(r: Resource): Resource {
  r.fields.InstanceStatus = r.fields.Status;
  return r;
}
