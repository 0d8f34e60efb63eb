import type { Action } from "../../api.js";
import { ApiError, invalid } from "../../errors.js";
import { required, str } from "../../params.js";
import { announceDatabase } from "./database-state.js";
import { PG_NAME, RESERVED, instanceOf, running } from "./common.js";

/** Databases of an instance, each owned by an account of it. */
const CreateDatabase: Action = (call) => {
  const r = running(call);
  const name = required(call.params, "DBName");
  if (!PG_NAME.test(name) || RESERVED.includes(name))
    throw invalid("DBName", "2-63 lowercase letters, digits or _, starting with a letter, not a reserved name");
  const key = `${r.id}:${name}`;
  if (call.store.get("rds-pg-database", key))
    throw new ApiError(409, "InvalidDBName.Duplicate", `The database ${name} exists.`);
  const owner = str(call.params, "Owner");
  if (owner && !call.store.get("rds-pg-account", `${r.id}:${owner}`))
    throw new ApiError(404, "InvalidAccountName.NotFound", `The owner account ${owner} does not exist.`);
  call.store.create("rds-pg-database", key, {
    InstanceId: r.id,
    DBName: name,
    Owner: owner ?? "postgres",
    CharacterSetName: str(call.params, "CharacterSetName") ?? "utf8",
    CType: str(call.params, "CType") ?? "C",
    Collate: str(call.params, "Collate") ?? "C",
    DBStatus: "Running",
  });
  announceDatabase(call, r.id);
  return {};
};

const DescribeDatabases: Action = (call) => {
  const r = instanceOf(call);
  const name = str(call.params, "DBName");
  const dbs = call.store
    .all("rds-pg-database")
    .filter((d) => d.fields.InstanceId === r.id && (!name || d.fields.DBName === name));
  return { Databases: dbs.map((d) => d.fields), Total: dbs.length };
};

const ModifyDatabaseOwner: Action = (call) => {
  const r = running(call);
  const db = call.store.get("rds-pg-database", `${r.id}:${required(call.params, "DBName")}`);
  if (!db)
    throw new ApiError(404, "InvalidDBName.NotFound", `The database ${String(call.params.DBName)} does not exist.`);
  const owner = required(call.params, "Owner");
  if (!call.store.get("rds-pg-account", `${r.id}:${owner}`))
    throw new ApiError(404, "InvalidAccountName.NotFound", `The account ${owner} does not exist.`);
  call.store.update(db, { Owner: owner });
  announceDatabase(call, r.id);
  return {};
};

const DeleteDatabase: Action = (call) => {
  const r = running(call);
  const db = call.store.get("rds-pg-database", `${r.id}:${required(call.params, "DBName")}`);
  if (!db)
    throw new ApiError(404, "InvalidDBName.NotFound", `The database ${String(call.params.DBName)} does not exist.`);
  call.store.delete(db);
  announceDatabase(call, r.id);
  return {};
};

export const databaseActions = {
  CreateDatabase,
  DescribeDatabases,
  ModifyDatabaseOwner,
  DeleteDatabase,
};
