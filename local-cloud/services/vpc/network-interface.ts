import { page, type Action } from "../../api.js";
import { notFound } from "../../errors.js";
import { required, strings } from "../../params.js";

/** Network interfaces (in the `vpc` service): an instance's primary one is created and deleted with it (ecs/instance.ts). */
const DescribeNetworkInterfaces: Action = ({ params, store }) => {
  const ids = strings(params, "NetworkInterfaceIds");
  const found = store.all("network-interface").filter((r) => ids.length === 0 || ids.includes(r.id));
  return page(
    found.map((r) => r.fields),
    params,
    "NetworkInterfaceSets",
  );
};

const ModifyNetworkInterfaceAttributes: Action = ({ params, store }) => {
  const nic = store.get("network-interface", required(params, "NetworkInterfaceId"));
  if (!nic)
    throw notFound("network interface", String(params.NetworkInterfaceId)).withCode("InvalidNetworkInterface.NotFound");
  const groups = strings(params, "SecurityGroupIds");
  if (groups.length > 0) store.update(nic, { SecurityGroupIds: groups });
  return {};
};

/** The `vpc` action the provider uses to find a server's primary private address. */
const DescribeNetworkInterfaceAttributes: Action = (call) => {
  const eni = call.store.get("network-interface", required(call.params, "NetworkInterfaceId"));
  if (!eni)
    throw notFound("network interface", String(call.params.NetworkInterfaceId)).withCode(
      "InvalidNetworkInterface.NotFound",
    );
  return {
    ...eni.fields,
    IPv6Sets: [],
    PrivateIpSets: { PrivateIpSet: [{ PrivateIpAddress: eni.fields.PrimaryIpAddress, Primary: true }] },
  };
};

export const networkInterfaceActions = {
  DescribeNetworkInterfaces,
  DescribeNetworkInterfaceAttributes,
  ModifyNetworkInterfaceAttributes,
};
