import type { Action, Call } from "../../api.js";
import { ApiError, invalid, missing } from "../../errors.js";
import { required, str, strings, type Params } from "../../params.js";
import { isCidr } from "../../rules.js";
import type { Resource } from "../../store.js";
import { announceDatabase } from "./database-state.js";
import { INSTANCE_NAME, instanceOf, running, settle } from "./common.js";

/** Allowlists and their association with instances (an association puts the instance in AllowListMaintaining). */
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
  if (changes.Entries) for (const id of a.fields.AssociatedInstanceIds as string[]) announceDatabase(call, id);
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
    announceDatabase(call, id);
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
    announceDatabase(call, id);
  }
  return {};
};

export const allowListActions = {
  CreateAllowList,
  DescribeAllowLists,
  DescribeAllowListDetail,
  ModifyAllowList,
  DeleteAllowList,
  AssociateAllowList,
  DisassociateAllowList,
};
