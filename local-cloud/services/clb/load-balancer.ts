import { page, selected, type Action, type Call } from "../../api.js";
import { ApiError, invalid, missing, notFound } from "../../errors.js";
import { list, num, required, str, strings, tags, type Params } from "../../params.js";
import { checkDescription, checkName } from "../../rules.js";
import { isoNow, type Resource } from "../../store.js";

/**
 * CLB (`clb` 2020-04-01, query GET): load balancer with its public address, listeners, server
 * groups and their servers, certificates (provider v0.0.196, volcengine/clb/*). Nothing forwards
 * traffic. States: load balancer `Creating → Active`, listener `Creating → Active`, server group
 * `Creating → Active`; a change puts the load balancer in `Configuring` for one transition.
 * Listeners and server groups are kept as the provider sent them (typed), so a read answers what
 * was written.
 */

const ACCOUNT = "2100000000";
const SPECS = ["small_1", "small_2", "medium_1", "medium_2", "large_1", "large_2"];
/** Query parameters are strings; these are numbers in the API's answers. */
const NUMERIC =
  /^(Port|Weight|Interval|Timeout|HealthyThreshold|UnHealthyThreshold|EstablishedTimeout|Bandwidth|EipBillingType|LoadBalancerBillingType|PersistenceTimeout|ConnectionDrainTimeout|Udp.*|ProxyProtocolType|Period)$/i;
const BOOLEAN = /^(CookieEnabled|ConnectionDrainEnabled)$/;

function typed(v: unknown, key = ""): unknown {
  if (Array.isArray(v)) return v.map((x) => typed(x, key));
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, typed(x, k)]));
  if (typeof v === "string" && NUMERIC.test(key) && /^-?\d+$/.test(v)) return Number(v);
  if (typeof v === "string" && BOOLEAN.test(key)) return v === "true";
  return v;
}

/**
 * The listener calls send `HealthCheck.URI` and `HealthCheck.UnhealthyThreshold`; DescribeListeners
 * answers `Uri` and `UnHealthyThreshold` (the provider's listeners data source reads those names).
 */
function withHealthCheckNames(p: Params): Params {
  const h = p.HealthCheck as Params | undefined;
  if (!h) return p;
  const { URI, UnhealthyThreshold, ...rest } = h;
  return {
    ...p,
    HealthCheck: {
      ...rest,
      ...(URI !== undefined ? { Uri: URI } : {}),
      ...(UnhealthyThreshold !== undefined ? { UnHealthyThreshold: UnhealthyThreshold } : {}),
    },
  };
}

function get(call: Call, kind: string, id: string, what: string, code: string): Resource {
  const r = call.store.get(kind, id);
  if (!r) throw notFound(what, id).withCode(code);
  return r;
}

const clbOf = (call: Call, id = required(call.params, "LoadBalancerId")) =>
  get(call, "clb", id, "load balancer", "InvalidLoadBalancer.NotFound");

/** Changes are refused while the load balancer is not Active (CLB docs: "the instance status must be Active"). */
function activeClb(call: Call, id?: string): Resource {
  const clb = clbOf(call, id);
  if (clb.fields.Status !== "Active")
    throw new ApiError(
      409,
      "IncorrectStatus.LoadBalancer",
      `The load balancer ${clb.id} is ${String(clb.fields.Status)}, not Active.`,
    );
  return clb;
}

const configuring = (call: Call, clb: Resource) => call.store.transition(clb, "Configuring", "Active");

const CreateLoadBalancer: Action = (call) => {
  const p = call.params;
  const type = required(p, "Type");
  if (!["public", "private"].includes(type)) throw invalid("Type", "public or private");
  const spec = required(p, "LoadBalancerSpec");
  if (!SPECS.includes(spec)) throw invalid("LoadBalancerSpec", `one of ${SPECS.join(", ")}`);
  const subnet = get(call, "subnet", required(p, "SubnetId"), "subnet", "InvalidSubnet.NotFound");
  checkName(str(p, "LoadBalancerName"), "LoadBalancerName");
  checkDescription(str(p, "Description"));
  const billing = num(p, "LoadBalancerBillingType") ?? 2;
  const id = call.store.newId("clb");
  let eip: Record<string, unknown> = {};
  let eipAddress = "";
  if (type === "public") {
    const cfg = (p.EipBillingConfig ?? {}) as Params;
    const eipBilling = num(cfg, "EipBillingType") ?? 3;
    const bandwidth = num(cfg, "Bandwidth") ?? 1;
    if (bandwidth < 1 || bandwidth > (eipBilling === 3 ? 200 : 500))
      throw invalid("EipBillingConfig.Bandwidth", `${bandwidth} Mbps`);
    // The load balancer's own address, from the EIP range's upper half (see choices).
    eipAddress = `198.19.255.${call.store.all("clb").length + 2}`;
    eip = {
      EipBillingType: eipBilling,
      Bandwidth: bandwidth,
      ISP: str(cfg, "ISP") ?? "BGP",
      BandwidthPackageId: "",
      SecurityProtectionTypes: [],
      SecurityProtectionInstanceId: "",
    };
  }
  call.store.create(
    "clb",
    id,
    {
      LoadBalancerId: id,
      LoadBalancerName: str(p, "LoadBalancerName") ?? id,
      Description: str(p, "Description") ?? "",
      Type: type,
      LoadBalancerSpec: spec,
      LoadBalancerBillingType: billing,
      VpcId: subnet.fields.VpcId,
      SubnetId: subnet.id,
      MasterZoneId: str(p, "MasterZoneId") ?? subnet.fields.ZoneId,
      SlaveZoneId: str(p, "SlaveZoneId") ?? "",
      EniAddress: `${String(subnet.fields.CidrBlock).split(".").slice(0, 3).join(".")}.${250 - call.store.all("clb").length}`,
      EniId: call.store.newId("eni"),
      EipAddress: eipAddress,
      EipID: type === "public" ? call.store.newId("eip") : "",
      AddressIpVersion: str(p, "AddressIpVersion") ?? "ipv4",
      ModificationProtectionStatus: str(p, "ModificationProtectionStatus") ?? "",
      ModificationProtectionReason: "",
      ProjectName: str(p, "ProjectName") ?? "default",
      Tags: tags(p),
      BusinessStatus: "Normal",
      LockReason: "",
      CreateTime: isoNow(),
      UpdateTime: isoNow(),
      AccountId: ACCOUNT,
      Eip: eip,
    },
    { from: "Creating", to: "Active" },
  );
  return { LoadBalancerId: id, OrderId: "" };
};

const DescribeLoadBalancers: Action = (call) => {
  return page(
    selected(call, "clb", "LoadBalancerIds").map(({ fields: { Eip: _e, ...f } }) => f),
    call.params,
    "LoadBalancers",
  );
};

const DescribeLoadBalancerAttributes: Action = (call) => {
  const clb = clbOf(call);
  const of = (kind: string, idKey: string, nameKey: string) =>
    call.store
      .all(kind)
      .filter((r) => r.fields.LoadBalancerId === clb.id)
      .map((r) => ({ [idKey]: r.id, [nameKey]: r.fields[nameKey] }));
  return {
    ...clb.fields,
    Ipv6AddressBandwidth: null,
    LogTopicId: "",
    Enabled: true,
    AccessLog: { Enabled: false, BucketName: "", TlsEnabled: false, TlsProjectId: "", TlsTopicId: "" },
    Listeners: of("clb-listener", "ListenerId", "ListenerName"),
    ServerGroups: of("clb-server-group", "ServerGroupId", "ServerGroupName"),
  };
};

const DescribeLoadBalancersBilling: Action = (call) => {
  const ids = strings(call.params, "LoadBalancerIds");
  const found = call.store.all("clb").filter((r) => ids.includes(r.id));
  return {
    LoadBalancerBillingConfigs: found.map((r) => ({
      LoadBalancerId: r.id,
      LoadBalancerBillingType: r.fields.LoadBalancerBillingType,
      BillingStatus: "Normal",
      OverdueTime: "",
      ExpiredTime: "",
      ReclaimTime: "",
      RenewType: 3,
    })),
    TotalCount: found.length,
  };
};

const ModifyLoadBalancerAttributes: Action = (call) => {
  const clb = activeClb(call);
  checkName(str(call.params, "LoadBalancerName"), "LoadBalancerName");
  checkDescription(str(call.params, "Description"));
  const changes: Record<string, unknown> = {};
  for (const f of ["LoadBalancerName", "Description", "LoadBalancerSpec", "ModificationProtectionStatus"])
    if (str(call.params, f) !== undefined) changes[f] = str(call.params, f);
  if (changes.LoadBalancerSpec !== undefined && !SPECS.includes(String(changes.LoadBalancerSpec)))
    throw invalid("LoadBalancerSpec", `one of ${SPECS.join(", ")}`);
  call.store.update(clb, changes);
  configuring(call, clb);
  return {};
};

const DeleteLoadBalancer: Action = (call) => {
  const clb = clbOf(call);
  if (clb.fields.Status === "Deleting") return {};
  const listeners = call.store.all("clb-listener").filter((l) => l.fields.LoadBalancerId === clb.id);
  if (listeners.length > 0)
    throw new ApiError(
      409,
      "InvalidOperation.LoadBalancerHasListener",
      `The load balancer ${clb.id} still has listeners ${listeners.map((l) => l.id).join(", ")}.`,
    );
  if (clb.fields.Status !== "Active")
    throw new ApiError(
      409,
      "IncorrectStatus.LoadBalancer",
      `The load balancer ${clb.id} is ${String(clb.fields.Status)}.`,
    );
  for (const g of call.store.all("clb-server-group").filter((g) => g.fields.LoadBalancerId === clb.id))
    call.store.delete(g);
  call.store.transition(clb, "Deleting", "Deleted", "delete");
  return {};
};

const PROTOCOLS = ["TCP", "UDP", "HTTP", "HTTPS"];

const CreateListener: Action = (call) => {
  const p = withHealthCheckNames(typed(call.params) as Params);
  const clb = activeClb(call, required(p, "LoadBalancerId"));
  const protocol = required(p, "Protocol");
  if (!PROTOCOLS.includes(protocol)) throw invalid("Protocol", PROTOCOLS.join(", "));
  const port = Number(required(p, "Port"));
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalid("Port", "1-65535");
  if (
    call.store
      .all("clb-listener")
      .some(
        (l) =>
          l.fields.LoadBalancerId === clb.id &&
          l.fields.Port === port &&
          (l.fields.Protocol === "UDP") === (protocol === "UDP"),
      )
  ) {
    throw new ApiError(409, "InvalidListener.PortConflict", `The load balancer ${clb.id} already listens on ${port}.`);
  }
  const group = get(
    call,
    "clb-server-group",
    required(p, "ServerGroupId"),
    "server group",
    "InvalidServerGroup.NotFound",
  );
  if (group.fields.LoadBalancerId !== clb.id)
    throw invalid("ServerGroupId", `the server group ${group.id} belongs to another load balancer`);
  // An HTTPS listener needs a certificate that exists (and then holds it: DeleteCertificate refuses).
  if (protocol === "HTTPS")
    get(call, "clb-certificate", required(p, "CertificateId"), "certificate", "InvalidCertificate.NotFound");
  checkName(str(p, "ListenerName"), "ListenerName");
  checkDescription(str(p, "Description"));
  const id = call.store.newId("lsn");
  call.store.create(
    "clb-listener",
    id,
    {
      Enabled: "on",
      AclStatus: "off",
      AclType: "",
      AclIds: [],
      Scheduler: "wrr",
      EstablishedTimeout: protocol === "TCP" ? 900 : 0,
      CertificateId: "",
      CertificateSource: protocol === "HTTPS" ? "clb" : "",
      Description: "",
      ...p,
      ListenerId: id,
      ListenerName: str(p, "ListenerName") ?? `${protocol}-${port}`,
      Port: port,
      Tags: tags(call.params),
      CreateTime: isoNow(),
      UpdateTime: isoNow(),
    },
    { from: "Creating", to: "Active" },
  );
  configuring(call, clb);
  return { ListenerId: id };
};

const DescribeListeners: Action = (call) => {
  return page(
    selected(call, "clb-listener", "ListenerIds", "LoadBalancerId").map((r) => r.fields),
    call.params,
    "Listeners",
  );
};

const listenerOf = (call: Call) =>
  get(call, "clb-listener", required(call.params, "ListenerId"), "listener", "InvalidListener.NotFound");

const DescribeListenerAttributes: Action = (call) => listenerOf(call).fields;

const ModifyListenerAttributes: Action = (call) => {
  const l = listenerOf(call);
  const clb = activeClb(call, String(l.fields.LoadBalancerId));
  const p = withHealthCheckNames(typed(call.params) as Params);
  checkDescription(str(p, "Description"));
  const { ListenerId: _id, ...changes } = p;
  const health = { ...((l.fields.HealthCheck ?? {}) as object), ...((changes.HealthCheck ?? {}) as object) };
  call.store.update(l, { ...changes, ...(changes.HealthCheck ? { HealthCheck: health } : {}), UpdateTime: isoNow() });
  configuring(call, clb);
  return {};
};

const DeleteListener: Action = (call) => {
  const l = listenerOf(call);
  const clb = activeClb(call, String(l.fields.LoadBalancerId));
  call.store.delete(l);
  configuring(call, clb);
  return {};
};

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

export const clbActions = {
  CreateLoadBalancer,
  DescribeLoadBalancers,
  DescribeLoadBalancerAttributes,
  DescribeLoadBalancersBilling,
  ModifyLoadBalancerAttributes,
  DeleteLoadBalancer,
  CreateListener,
  DescribeListeners,
  DescribeListenerAttributes,
  ModifyListenerAttributes,
  DeleteListener,
  CreateServerGroup,
  DescribeServerGroups,
  DescribeServerGroupAttributes,
  AddServerGroupBackendServers,
  RemoveServerGroupBackendServers,
  ModifyServerGroupAttributes,
  DeleteServerGroup,
};

/** The `vpc` action the provider uses to find a server's primary private address. */
export const DescribeNetworkInterfaceAttributes: Action = (call) => {
  const eni = get(
    call,
    "network-interface",
    required(call.params, "NetworkInterfaceId"),
    "network interface",
    "InvalidNetworkInterface.NotFound",
  );
  return {
    ...eni.fields,
    IPv6Sets: [],
    PrivateIpSets: { PrivateIpSet: [{ PrivateIpAddress: eni.fields.PrimaryIpAddress, Primary: true }] },
  };
};
