import type { Action } from "../../api.js";
import { ApiError, invalid, missing } from "../../errors.js";
import { list, num, required, str, strings, tags, type Params } from "../../params.js";
import { ipAt } from "../../rules.js";
import { isoNow } from "../../store.js";
import { announceDatabase } from "./database-state.js";
import { ENGINES, INSTANCE_NAME, instanceOf, running, settle } from "./common.js";

/**
 * RDS for PostgreSQL (`rds_postgresql` 2022-01-01, JSON POST): instance, database, account,
 * allowlist and its association (provider v0.0.196, volcengine/rds_postgresql/*). The instance's
 * private endpoint is `<id>.rds-pg.ivolces.com:5432` (docs/local-cloud.md, choices); a network
 * booter runs PostgreSQL there as the records say (database-state.ts), without one it is a record. States: `Creating → Running`, `Deleting →` gone; while an
 * instance is not Running, changes to it and its databases/accounts/allowlists are refused.
 */
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
  announceDatabase(call, id);
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
  // Whether ChargeDetail carries Number is an open question (answers.ts, rdsChargeNumber).
  const { Number: _n, ...charge } = r.fields.ChargeDetail as Record<string, unknown>;
  const ChargeDetail = call.store.answers.rdsChargeNumber === "answered" ? r.fields.ChargeDetail : charge;
  return { BasicInfo: basic, Endpoints, Nodes, ChargeDetail };
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
  announceDatabase(call, r.id);
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

export const instanceActions = {
  CreateDBInstance,
  DescribeDBInstances,
  DescribeDBInstanceDetail,
  ModifyDBInstanceName,
  ModifyDBInstanceSpec,
  DeleteDBInstance,
  AddTagsToResource,
  RemoveTagsFromResource,
};
