import { page, selected, type Action, type Call } from "../../api.js";
import { ApiError, invalid } from "../../errors.js";
import { required, str, tags, type Params } from "../../params.js";
import { checkDescription, checkName } from "../../rules.js";
import { isoNow } from "../../store.js";
import { typed, withHealthCheckNames, get, activeClb, configuring } from "./common.js";
import { announceForwarding } from "./forwarding.js";

/** CLB listeners: one per port of a load balancer, forwarding to a server group (through a network booter, forwarding.ts). */
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
  announceForwarding(call, clb.id);
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
  announceForwarding(call, clb.id);
  return {};
};

const DeleteListener: Action = (call) => {
  const l = listenerOf(call);
  const clb = activeClb(call, String(l.fields.LoadBalancerId));
  call.store.delete(l);
  configuring(call, clb);
  announceForwarding(call, clb.id);
  return {};
};

export const listenerActions = {
  CreateListener,
  DescribeListeners,
  DescribeListenerAttributes,
  ModifyListenerAttributes,
  DeleteListener,
};
