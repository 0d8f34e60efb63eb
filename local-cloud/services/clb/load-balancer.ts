import { page, selected, type Action } from "../../api.js";
import { ApiError, invalid } from "../../errors.js";
import { num, required, str, strings, tags, type Params } from "../../params.js";
import { checkDescription, checkName } from "../../rules.js";
import { isoNow } from "../../store.js";
import { ACCOUNT, SPECS, get, clbOf, activeClb, configuring } from "./common.js";
import { announceForwarding } from "./forwarding.js";

/**
 * CLB (`clb` 2020-04-01, query GET): load balancer with its public address, listeners, server
 * groups and their servers, certificates (provider v0.0.196, volcengine/clb/*). A network booter
 * forwards traffic as the records say (forwarding.ts); without one, nothing forwards. States: load balancer `Creating → Active`, listener `Creating → Active`, server group
 * `Creating → Active`; a change puts the load balancer in `Configuring` for one transition.
 * Listeners and server groups are kept as the provider sent them (typed), so a read answers what
 * was written.
 */
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
  announceForwarding(call, id);
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
  announceForwarding(call, clb.id);
  return {};
};

export const loadBalancerActions = {
  CreateLoadBalancer,
  DescribeLoadBalancers,
  DescribeLoadBalancerAttributes,
  DescribeLoadBalancersBilling,
  ModifyLoadBalancerAttributes,
  DeleteLoadBalancer,
};
