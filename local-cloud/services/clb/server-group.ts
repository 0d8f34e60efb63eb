import { page, selected, type Action, type Call } from "../../api.js";
import { ApiError, invalid, missing, notFound } from "../../errors.js";
import { list, required, str, strings, tags, type Params } from "../../params.js";
import { checkDescription, checkName } from "../../rules.js";
import { isoNow, type Resource } from "../../store.js";
import { typed, get, activeClb, configuring } from "./common.js";
import { announceForwarding } from "./forwarding.js";

/** CLB server groups and their servers (ECS instances of the load balancer's VPC). */
const CreateServerGroup: Action = (call) => {
  const clb = activeClb(call);
  checkName(str(call.params, "ServerGroupName"), "ServerGroupName");
  checkDescription(str(call.params, "Description"));
  const type = str(call.params, "Type") ?? "instance";
  if (!["instance", "ip"].includes(type)) throw invalid("Type", "instance or ip");
  const id = call.store.newId("rsp");
  call.store.create(
    "clb-server-group",
    id,
    {
      ServerGroupId: id,
      ServerGroupName: str(call.params, "ServerGroupName") ?? id,
      Description: str(call.params, "Description") ?? "",
      Type: type,
      LoadBalancerId: clb.id,
      VpcId: clb.fields.VpcId,
      AddressIpVersion: str(call.params, "AddressIpVersion") ?? "ipv4",
      AnyPortEnabled: false,
      Tags: tags(call.params),
      Servers: [],
      CreateTime: isoNow(),
      UpdateTime: isoNow(),
    },
    { from: "Creating", to: "Active" },
  );
  configuring(call, clb);
  return { ServerGroupId: id };
};

const groupOf = (call: Call, id = required(call.params, "ServerGroupId")) =>
  get(call, "clb-server-group", id, "server group", "InvalidServerGroup.NotFound");

const DescribeServerGroups: Action = (call) => {
  return page(
    selected(call, "clb-server-group", "ServerGroupIds", "LoadBalancerId").map(
      ({ fields: { Servers: _s, ...f } }) => f,
    ),
    call.params,
    "ServerGroups",
  );
};

const DescribeServerGroupAttributes: Action = (call) => {
  const g = groupOf(call);
  const listeners = call.store
    .all("clb-listener")
    .filter((l) => l.fields.ServerGroupId === g.id)
    .map((l) => l.id);
  return { ...g.fields, Listeners: listeners };
};

/** Servers: ECS instances in the load balancer's VPC, by their primary private address. */
function serverEntries(call: Call, group: Resource): Record<string, unknown>[] {
  const servers = typed(list(call.params, "Servers")) as Params[];
  if (servers.length === 0) throw missing("Servers");
  return servers.map((s) => {
    const instanceId = required(s, "InstanceId");
    const type = required(s, "Type");
    if (!["ecs", "eni", "ip"].includes(type)) throw invalid("Servers.Type", "ecs, eni or ip");
    const instance = type === "ecs" ? call.store.get("ecs-instance", instanceId) : undefined;
    if (type === "ecs" && !instance) throw notFound("instance", instanceId).withCode("InvalidInstance.NotFound");
    if (instance && instance.fields.VpcId !== group.fields.VpcId)
      throw invalid("Servers.InstanceId", `the instance ${instanceId} is not in the load balancer's VPC`);
    const weight = Number(s.Weight ?? 100);
    if (!Number.isInteger(weight) || weight < 0 || weight > 100) throw invalid("Servers.Weight", "0-100");
    const port = Number(required(s, "Port"));
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalid("Servers.Port", "1-65535");
    const eni = call.store
      .all("network-interface")
      .find((n) => n.fields.InstanceId === instanceId && n.fields.Type === "primary");
    const ip = str(s, "Ip") ?? String(eni?.fields.PrimaryIpAddress ?? "");
    return {
      ServerId: call.store.newId("rs"),
      InstanceId: instanceId,
      Type: type,
      Ip: ip,
      Port: port,
      Weight: weight,
      Description: str(s, "Description") ?? "",
    };
  });
}

const AddServerGroupBackendServers: Action = (call) => {
  const g = groupOf(call);
  const clb = activeClb(call, String(g.fields.LoadBalancerId));
  const added = serverEntries(call, g);
  const existing = g.fields.Servers as Record<string, unknown>[];
  for (const s of added) {
    if (existing.some((e) => e.InstanceId === s.InstanceId && e.Port === s.Port))
      throw new ApiError(
        409,
        "InvalidParameter.ServerExist",
        `The server ${String(s.InstanceId)}:${String(s.Port)} is in the group.`,
      );
  }
  call.store.update(g, { Servers: [...existing, ...added] });
  configuring(call, clb);
  announceForwarding(call, clb.id);
  return { ServerGroupId: g.id, ServerIds: added.map((s) => s.ServerId) };
};

const RemoveServerGroupBackendServers: Action = (call) => {
  const g = groupOf(call);
  const clb = activeClb(call, String(g.fields.LoadBalancerId));
  const ids = strings(call.params, "ServerIds");
  if (ids.length === 0) throw missing("ServerIds");
  call.store.update(g, {
    Servers: (g.fields.Servers as Record<string, unknown>[]).filter((s) => !ids.includes(String(s.ServerId))),
  });
  configuring(call, clb);
  announceForwarding(call, clb.id);
  return {};
};

const ModifyServerGroupAttributes: Action = (call) => {
  const g = groupOf(call);
  const clb = activeClb(call, String(g.fields.LoadBalancerId));
  checkDescription(str(call.params, "Description"));
  const changes: Record<string, unknown> = {};
  for (const f of ["ServerGroupName", "Description"])
    if (str(call.params, f) !== undefined) changes[f] = str(call.params, f);
  const updates = typed(list(call.params, "Servers")) as Params[];
  if (updates.length > 0) {
    changes.Servers = (g.fields.Servers as Record<string, unknown>[]).map((s) => {
      const u = updates.find((x) => x.ServerId === s.ServerId);
      return u
        ? {
            ...s,
            ...Object.fromEntries(Object.entries(u).filter(([k]) => ["Weight", "Port", "Description"].includes(k))),
          }
        : s;
    });
  }
  call.store.update(g, changes);
  configuring(call, clb);
  if (changes.Servers) announceForwarding(call, clb.id);
  return {};
};

const DeleteServerGroup: Action = (call) => {
  const g = groupOf(call);
  const users = call.store.all("clb-listener").filter((l) => l.fields.ServerGroupId === g.id);
  if (users.length > 0)
    throw new ApiError(
      409,
      "InvalidOperation.ServerGroupInUse",
      `The server group ${g.id} is used by listeners ${users.map((l) => l.id).join(", ")}.`,
    );
  const clb = activeClb(call, String(g.fields.LoadBalancerId));
  call.store.delete(g);
  configuring(call, clb);
  return {};
};

export const serverGroupActions = {
  CreateServerGroup,
  DescribeServerGroups,
  DescribeServerGroupAttributes,
  AddServerGroupBackendServers,
  RemoveServerGroupBackendServers,
  ModifyServerGroupAttributes,
  DeleteServerGroup,
};
