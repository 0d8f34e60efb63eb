import type { Action, Call } from "../../api.js";
import { ApiError, invalid } from "../../errors.js";
import { required, str } from "../../params.js";
import type { Resource } from "../../store.js";
import { announceDatabase, announcePassword } from "./database-state.js";
import { PG_NAME, RESERVED, checkPassword, instanceOf, running } from "./common.js";

/** Accounts of an instance; one that owns a database cannot be deleted. */
const CreateDBAccount: Action = (call) => {
  const r = running(call);
  const name = required(call.params, "AccountName");
  if (!PG_NAME.test(name) || RESERVED.includes(name))
    throw invalid("AccountName", "2-63 lowercase letters, digits or _, starting with a letter, not a reserved name");
  checkPassword(required(call.params, "AccountPassword"));
  const type = required(call.params, "AccountType");
  if (!["Super", "Normal", "Instance_ReadOnly"].includes(type))
    throw invalid("AccountType", "Super, Normal or Instance_ReadOnly");
  const key = `${r.id}:${name}`;
  if (call.store.get("rds-pg-account", key))
    throw new ApiError(409, "InvalidAccountName.Duplicate", `The account ${name} exists.`);
  const privileges = str(call.params, "AccountPrivileges") ?? "";
  if (
    privileges !== "" &&
    privileges.split(",").some((x) => !["Login", "Inherit", "CreateRole", "CreateDB"].includes(x))
  )
    throw invalid("AccountPrivileges", "comma-separated Login, Inherit, CreateRole, CreateDB");
  call.store.create("rds-pg-account", key, {
    InstanceId: r.id,
    AccountName: name,
    AccountType: type,
    AccountPrivileges: privileges,
    AccountStatus: "Healthy",
  });
  announcePassword(call, r.id, name, required(call.params, "AccountPassword"));
  announceDatabase(call, r.id);
  return {};
};

const DescribeDBAccounts: Action = (call) => {
  const r = instanceOf(call);
  const name = str(call.params, "AccountName");
  const accounts = call.store
    .all("rds-pg-account")
    .filter((a) => a.fields.InstanceId === r.id && (!name || a.fields.AccountName === name));
  return { Accounts: accounts.map((a) => a.fields), Total: accounts.length };
};

function accountOf(call: Call): Resource {
  const r = running(call);
  const a = call.store.get("rds-pg-account", `${r.id}:${required(call.params, "AccountName")}`);
  if (!a)
    throw new ApiError(
      404,
      "InvalidAccountName.NotFound",
      `The account ${String(call.params.AccountName)} does not exist.`,
    );
  return a;
}

const ResetDBAccount: Action = (call) => {
  const a = accountOf(call);
  checkPassword(required(call.params, "AccountPassword"));
  announcePassword(
    call,
    String(a.fields.InstanceId),
    String(a.fields.AccountName),
    required(call.params, "AccountPassword"),
  );
  return {};
};

const ModifyDBAccountPrivilege: Action = (call) => {
  const a = accountOf(call);
  call.store.update(a, { AccountPrivileges: str(call.params, "AccountPrivileges") ?? "" });
  announceDatabase(call, String(a.fields.InstanceId));
  return {};
};

const DeleteDBAccount: Action = (call) => {
  const a = accountOf(call);
  const owned = call.store
    .all("rds-pg-database")
    .filter((d) => d.fields.InstanceId === a.fields.InstanceId && d.fields.Owner === a.fields.AccountName);
  if (owned.length > 0)
    throw new ApiError(
      409,
      "OperationDenied.AccountOwnsDatabase",
      `The account ${String(a.fields.AccountName)} owns databases ${owned.map((d) => d.fields.DBName).join(", ")}.`,
    );
  call.store.delete(a);
  announceDatabase(call, String(a.fields.InstanceId));
  return {};
};

export const accountActions = {
  CreateDBAccount,
  DescribeDBAccounts,
  ResetDBAccount,
  ModifyDBAccountPrivilege,
  DeleteDBAccount,
};
