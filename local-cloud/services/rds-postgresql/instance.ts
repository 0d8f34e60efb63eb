import type { Action, Call } from "../../api.js";
import { ApiError, invalid, missing } from "../../errors.js";
import { list, num, required, str, strings, tags, type Params } from "../../params.js";
import { ipAt, isCidr } from "../../rules.js";
import { isoNow, type Resource } from "../../store.js";

/**
 * RDS for PostgreSQL (`rds_postgresql` 2022-01-01, JSON POST): instance, database, account,
 * allowlist and its association (provider v0.0.196, volcengine/rds_postgresql/*). Nothing is
 * started: the instance is a record whose private endpoint is `<id>.rds-pg.ivolces.com:5432`
 * (docs/local-cloud.md, choices). States: `Creating → Running`, `Deleting →` gone; while an
 * instance is not Running, changes to it and its databases/accounts/allowlists are refused.
 */

const ENGINES = [
  "PostgreSQL_11",
  "PostgreSQL_12",
  "PostgreSQL_13",
  "PostgreSQL_14",
  "PostgreSQL_15",
  "PostgreSQL_16",
  "PostgreSQL_17",
];
/** Instance names (RDS docs): 1-128 characters, not starting with a digit or "-"; letters, digits, Chinese, _ and -. */
const INSTANCE_NAME = /^[\p{Script=Han}A-Za-z_][\p{Script=Han}A-Za-z0-9_-]{0,127}$/u;
/** Database and account names (RDS PostgreSQL docs): 2-63 characters, start with a letter, lowercase letters, digits, _. */
const PG_NAME = /^[a-z][a-z0-9_]{1,62}$/;
const RESERVED = ["postgres", "root", "admin", "rdsadmin", "replicator", "template0", "template1"];
/** Account password (docs): 8-32 characters from at least three of upper, lower, digits, symbols. */
function checkPassword(p: string): void {
  const classes = [/[A-Z]/, /[a-z]/, /\d/, /[^A-Za-z0-9]/].filter((r) => r.test(p)).length;
  if (p.length < 8 || p.length > 32 || classes < 3)
    throw invalid(
      "AccountPassword",
      "8-32 characters with at least three of upper case, lower case, digits and symbols",
    );
}

const notFound = (id: string) => new ApiError(404, "InvalidInstanceId.NotFound", `The instance ${id} does not exist.`);

function instanceOf(call: Call, id = required(call.params, "InstanceId")): Resource {
  const r = call.store.get("rds-pg-instance", id);
  if (!r) throw notFound(id);
  return r;
}

function running(call: Call, id?: string): Resource {
  const r = instanceOf(call, id);
  if (r.fields.InstanceStatus !== "Running") {
    throw new ApiError(
      409,
      "OperationDenied.InstanceStatus",
      `The instance ${r.id} is ${String(r.fields.InstanceStatus)}; the operation needs it Running.`,
    );
  }
  return r;
}

/** Instances move their `InstanceStatus` (the store's transitions move `Status`): both are kept equal. */
function settle(r: Resource): Resource {
  r.fields.InstanceStatus = r.fields.Status;
  return r;
}

const CreateDBInstance: Action = (call) => {
  const { params: p, store } = call;
  const engine = required(p, "DBEngineVersion");
  if (!ENGINES.includes(engine)) throw invalid("DBEngineVersion", `one of ${ENGINES.join(", ")}`);
  const storage = num(p, "StorageSpace") ?? 0;
  if (storage < 20 || storage > 3000 || storage % 10 !== 0) throw invalid("StorageSpace", "20-3000 GB in steps of 10");
  const vpc = store.get("vpc", required(p, "VpcId"));
  if (!vpc) throw new ApiError(404, "InvalidVpc.NotFound", `The VPC ${String(p.VpcId)} does not exist.`);
  const subnet = store.get("subnet", required(p, "SubnetId"));
  if (!subnet || subnet.fields.VpcId !== vpc.id)
    throw new ApiError(
      404,
      "InvalidSubnet.NotFound",
      `The subnet ${String(p.SubnetId)} does not exist in VPC ${vpc.id}.`,
    );
  const name = str(p, "InstanceName");
  if (name !== undefined && !INSTANCE_NAME.test(name))
    throw invalid("InstanceName", "1-128 letters, digits, Chinese characters, _ or -, not starting with a digit or -");
  const nodes = list(p, "NodeInfo") as Params[];
  const primary = nodes.find((n) => n.NodeType === "Primary");
  const secondary = nodes.find((n) => n.NodeType === "Secondary");
  if (!primary || !secondary) throw missing("NodeInfo (a Primary and a Secondary node)");
  for (const n of nodes)
    if (!/^rds\.postgres\.[a-z0-9.]+$/.test(String(n.NodeSpec ?? "")))
      throw invalid("NodeInfo.NodeSpec", `"${String(n.NodeSpec)}" is not a PostgreSQL node spec`);
  if (primary.ZoneId !== subnet.fields.ZoneId)
    throw invalid(
      "NodeInfo.ZoneId",
      `the primary node's zone ${String(primary.ZoneId)} is not the subnet's zone ${String(subnet.fields.ZoneId)}`,
    );
  const charge = (p.ChargeInfo ?? {}) as Params;
  if (!["PostPaid", "PrePaid"].includes(String(charge.ChargeType)))
    throw invalid("ChargeInfo.ChargeType", "PostPaid or PrePaid");
  const id = `postgres-${store.newId("x").slice(2, 14)}`;
  const used = store.all("rds-pg-instance").filter((r) => r.fields.SubnetId === subnet.id).length;
  const nodeList = nodes.map((n, i) => ({
    NodeId: `${id}-${i}`,
    NodeType: n.NodeType,
    ZoneId: n.ZoneId,
    NodeSpec: n.NodeSpec,
    NodeStatus: "Running",
    CreateTime: isoNow(),
    UpdateTime: isoNow(),
  }));
  const spec = /(\d+)c(\d+)g/.exec(String(primary.NodeSpec)) ?? ["", "1", "2"];
  store.create(
    "rds-pg-instance",
    id,
    {
      InstanceId: id,
      InstanceName: name ?? id,
      DBEngineVersion: engine,
      InstanceType: "HA",
      NodeSpec: primary.NodeSpec,
      StorageSpace: storage,
      StorageType: "LocalSSD",
      VpcId: vpc.id,
      SubnetId: subnet.id,
      ZoneId: primary.ZoneId,
      ZoneIds: nodes.map((n) => n.ZoneId),
      RegionId: call.region,
      ProjectName: str(p, "ProjectName") ?? "default",
      Tags: tags(p),
      ChargeDetail: {
        ChargeType: charge.ChargeType,
        ChargeStatus: "Normal",
        AutoRenew: false,
        PeriodUnit: "Month",
        Period: 1,
        Number: Number(charge.Number ?? 1),
      },
      CreateTime: isoNow(),
      VCPU: Number(spec[1]),
      Memory: Number(spec[2]),
      DataSyncMode: "SemiSync",
      StorageUse: 0,
      StorageDataUse: 0,
      StorageLogUse: 0,
      StorageTempUse: 0,
      StorageWALUse: 0,
      Nodes: nodeList,
      Endpoints: [
        {
          EndpointId: `${id}-cluster`,
          EndpointName: "Default",
          EndpointType: "Cluster",
          ReadWriteMode: "ReadWrite",
          Address: [
            // The private address: the subnet's address after the ECS range (see choices), port 5432.
            {
              NetworkType: "Private",
              Domain: `${id}.rds-pg.ivolces.com`,
              IPAddress: ipAt(String(subnet.fields.CidrBlock), 250 - used),
              Port: "5432",
              SubnetId: subnet.id,
              EipId: "",
            },
          ],
        },
      ],
      AllowListIds: strings(p, "AllowListIds"),
    },
    { from: "Creating", to: "Running" },
  );
  settle(store.get("rds-pg-instance", id)!);
  return { InstanceId: id, OrderId: `order-${id}` };
};

const DescribeDBInstances: Action = (call) => {
  const id = str(call.params, "InstanceId");
  const items = call.store
    .all("rds-pg-instance")
    .map(settle)
    .filter((r) => !id || r.id === id)
    .map(({ fields: { Endpoints: _e, Nodes: _n, VCPU: _c, Memory: _m, ...summary } }) => summary);
  return { Instances: items, Total: items.length };
};

const DescribeDBInstanceDetail: Action = (call) => {
  const r = settle(instanceOf(call));
  const { Endpoints, Nodes, ...basic } = r.fields;
  return { BasicInfo: basic, Endpoints, Nodes, ChargeDetail: r.fields.ChargeDetail };
};

const ModifyDBInstanceName: Action = (call) => {
  const r = running(call);
  const name = required(call.params, "InstanceNewName");
  if (!INSTANCE_NAME.test(name)) throw invalid("InstanceNewName", "1-128 letters, digits, Chinese characters, _ or -");
  call.store.update(r, { InstanceName: name });
  return {};
};

const ModifyDBInstanceSpec: Action = (call) => {
  const r = running(call);
  const storage = num(call.params, "StorageSpace");
  if (storage !== undefined && (storage < Number(r.fields.StorageSpace) || storage > 3000 || storage % 10 !== 0))
    throw invalid("StorageSpace", "can only grow, in steps of 10, up to 3000 GB");
  const nodes = list(call.params, "NodeInfo") as Params[];
  const primary = nodes.find((n) => n.NodeType === "Primary");
  call.store.update(r, {
    ...(storage !== undefined ? { StorageSpace: storage } : {}),
    ...(primary?.NodeSpec ? { NodeSpec: primary.NodeSpec } : {}),
  });
  call.store.transition(r, "Updating", "Running");
  settle(r);
  return { OrderId: `order-${r.id}` };
};

const DeleteDBInstance: Action = (call) => {
  const r = instanceOf(call);
  if (r.fields.InstanceStatus === "Deleting") return {};
  if (r.fields.InstanceStatus !== "Running")
    throw new ApiError(
      409,
      "OperationDenied.InstanceStatus",
      `The instance ${r.id} is ${String(r.fields.InstanceStatus)}.`,
    );
  for (const a of call.store.all("rds-pg-allowlist")) {
    const ids = a.fields.AssociatedInstanceIds as string[];
    if (ids.includes(r.id)) call.store.update(a, { AssociatedInstanceIds: ids.filter((x) => x !== r.id) });
  }
  for (const kind of ["rds-pg-database", "rds-pg-account"])
    for (const x of call.store.all(kind)) if (x.fields.InstanceId === r.id) call.store.delete(x);
  call.store.transition(r, "Deleting", "Deleted", "delete");
  settle(r);
  return {};
};

const AddTagsToResource: Action = (call) => {
  for (const id of strings(call.params, "InstanceIds")) {
    const r = instanceOf(call, id);
    const add = tags(call.params);
    call.store.update(r, {
      Tags: [...(r.fields.Tags as { Key: string }[]).filter((t) => !add.some((a) => a.Key === t.Key)), ...add],
    });
  }
  return {};
};

const RemoveTagsFromResource: Action = (call) => {
  const keys = strings(call.params, "TagKeys");
  for (const id of strings(call.params, "InstanceIds")) {
    const r = instanceOf(call, id);
    call.store.update(r, { Tags: (r.fields.Tags as { Key: string }[]).filter((t) => !keys.includes(t.Key)) });
  }
  return {};
};

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
  return {};
};

const DeleteDatabase: Action = (call) => {
  const r = running(call);
  const db = call.store.get("rds-pg-database", `${r.id}:${required(call.params, "DBName")}`);
  if (!db)
    throw new ApiError(404, "InvalidDBName.NotFound", `The database ${String(call.params.DBName)} does not exist.`);
  call.store.delete(db);
  return {};
};

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
  if (privileges?.split(",").some((x) => !["Login", "Inherit", "CreateRole", "CreateDB"].includes(x)))
    throw invalid("AccountPrivileges", "comma-separated Login, Inherit, CreateRole, CreateDB");
  call.store.create("rds-pg-account", key, {
    InstanceId: r.id,
    AccountName: name,
    AccountType: type,
    AccountPrivileges: privileges,
    AccountStatus: "Healthy",
  });
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
  accountOf(call);
  checkPassword(required(call.params, "AccountPassword"));
  return {};
};

const ModifyDBAccountPrivilege: Action = (call) => {
  const a = accountOf(call);
  call.store.update(a, { AccountPrivileges: str(call.params, "AccountPrivileges") ?? "" });
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
  return {};
};

/** Allowlist entries: IPv4 addresses or CIDR blocks, comma-separated, at most 300 (docs). */
function allowEntries(p: Params): string[] {
  const raw = str(p, "AllowList") ?? "";
  const entries = raw
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);
  if (entries.length > 300) throw invalid("AllowList", "at most 300 entries");
  for (const e of entries)
    if (!isCidr(e.includes("/") ? e : `${e}/32`))
      throw invalid("AllowList", `"${e}" is not an IPv4 address or CIDR block`);
  return entries;
}

const CreateAllowList: Action = (call) => {
  const name = required(call.params, "AllowListName");
  if (!INSTANCE_NAME.test(name))
    throw invalid("AllowListName", "letters, digits, Chinese characters, _ or -, not starting with a digit or -");
  const id = `acl-${call.store.newId("x").slice(2, 22)}`;
  call.store.create("rds-pg-allowlist", id, {
    AllowListId: id,
    AllowListName: name,
    AllowListDesc: str(call.params, "AllowListDesc") ?? "",
    AllowListType: str(call.params, "AllowListType") ?? "IPv4",
    AllowListCategory: str(call.params, "AllowListCategory") ?? "Ordinary",
    Entries: allowEntries(call.params),
    UserAllowList: str(call.params, "UserAllowList") ?? "",
    AssociatedInstanceIds: [],
    RegionId: call.region,
  });
  return { AllowListId: id };
};

function allowListOf(call: Call, id = required(call.params, "AllowListId")): Resource {
  const a = call.store.get("rds-pg-allowlist", id);
  if (!a) throw new ApiError(404, "InvalidAllowListId.NotFound", `The allowlist ${id} does not exist.`);
  return a;
}

function listed(_call: Call, a: Resource): Record<string, unknown> {
  const { Entries, AssociatedInstanceIds, UserAllowList: _u, ...rest } = a.fields;
  return {
    ...rest,
    AllowListIPNum: (Entries as string[]).length,
    AssociatedInstanceNum: (AssociatedInstanceIds as string[]).length,
  };
}

const DescribeAllowLists: Action = (call) => {
  const instance = str(call.params, "InstanceId");
  const lists = call.store
    .all("rds-pg-allowlist")
    .filter((a) => !instance || (a.fields.AssociatedInstanceIds as string[]).includes(instance));
  return { AllowLists: lists.map((a) => listed(call, a)), Total: lists.length };
};

const DescribeAllowListDetail: Action = (call) => {
  const a = allowListOf(call);
  const ids = a.fields.AssociatedInstanceIds as string[];
  return {
    ...listed(call, a),
    AllowList: (a.fields.Entries as string[]).join(","),
    UserAllowList: a.fields.UserAllowList,
    AssociatedInstances: ids.map((id) => ({
      InstanceId: id,
      InstanceName: call.store.get("rds-pg-instance", id)?.fields.InstanceName ?? "",
      VPC: call.store.get("rds-pg-instance", id)?.fields.VpcId ?? "",
    })),
    SecurityGroupBindInfos: [],
  };
};

const ModifyAllowList: Action = (call) => {
  const a = allowListOf(call);
  for (const id of a.fields.AssociatedInstanceIds as string[]) running(call, id);
  const changes: Record<string, unknown> = {};
  if (str(call.params, "AllowListName") !== undefined) changes.AllowListName = str(call.params, "AllowListName");
  if (str(call.params, "AllowListDesc") !== undefined) changes.AllowListDesc = str(call.params, "AllowListDesc");
  if (call.params.AllowList !== undefined) changes.Entries = allowEntries(call.params);
  call.store.update(a, changes);
  return {};
};

const DeleteAllowList: Action = (call) => {
  const a = allowListOf(call);
  const ids = a.fields.AssociatedInstanceIds as string[];
  if (ids.length > 0)
    throw new ApiError(
      409,
      "OperationDenied.AllowListInUse",
      `The allowlist ${a.id} is bound to ${ids.join(", ")}; disassociate it first.`,
    );
  call.store.delete(a);
  return {};
};

const AssociateAllowList: Action = (call) => {
  const instances = strings(call.params, "InstanceIds");
  if (instances.length === 0) throw missing("InstanceIds");
  const lists = strings(call.params, "AllowListIds").map((id) => allowListOf(call, id));
  if (lists.length === 0) throw missing("AllowListIds");
  for (const id of instances) running(call, id);
  for (const a of lists) {
    const ids = a.fields.AssociatedInstanceIds as string[];
    call.store.update(a, { AssociatedInstanceIds: [...new Set([...ids, ...instances])] });
  }
  for (const id of instances) {
    const r = instanceOf(call, id);
    call.store.transition(r, "AllowListMaintaining", "Running");
    settle(r);
  }
  return {};
};

const DisassociateAllowList: Action = (call) => {
  const instances = strings(call.params, "InstanceIds");
  const lists = strings(call.params, "AllowListIds").map((id) => allowListOf(call, id));
  for (const id of instances) running(call, id);
  for (const a of lists)
    call.store.update(a, {
      AssociatedInstanceIds: (a.fields.AssociatedInstanceIds as string[]).filter((x) => !instances.includes(x)),
    });
  for (const id of instances) {
    const r = instanceOf(call, id);
    call.store.transition(r, "AllowListMaintaining", "Running");
    settle(r);
  }
  return {};
};

export const rdsPostgresqlActions = {
  CreateDBInstance,
  DescribeDBInstances,
  DescribeDBInstanceDetail,
  ModifyDBInstanceName,
  ModifyDBInstanceSpec,
  DeleteDBInstance,
  AddTagsToResource,
  RemoveTagsFromResource,
  CreateDatabase,
  DescribeDatabases,
  ModifyDatabaseOwner,
  DeleteDatabase,
  CreateDBAccount,
  DescribeDBAccounts,
  ResetDBAccount,
  ModifyDBAccountPrivilege,
  DeleteDBAccount,
  CreateAllowList,
  DescribeAllowLists,
  DescribeAllowListDetail,
  ModifyAllowList,
  DeleteAllowList,
  AssociateAllowList,
  DisassociateAllowList,
};
