import { page, type Action, type Call } from "../../api.js";
import { ApiError, invalid, notFound } from "../../errors.js";
import { num, required, str, strings, tags } from "../../params.js";
import { checkDescription, checkName } from "../../rules.js";
import { isoNow, type Resource } from "../../store.js";

/**
 * Elastic IPs (`vpc` service, 2020-04-01). Addresses come from 198.18.0.0/15 (reserved for
 * benchmarking, never routed on the Internet), so an address of the stand-in can never be
 * mistaken for, or reach, a real host.
 */

export const BILLING = new Map([
  [1, "PrePaid"],
  [2, "PostPaidByBandwidth"],
  [3, "PostPaidByTraffic"],
]);

function getEip(call: Call, id: string): Resource {
  const r = call.store.get("eip", id);
  if (!r) throw notFound("EIP", id).withCode("InvalidEipAddress.NotFound");
  return r;
}

function nextAddress(call: Call): string {
  const used = new Set(call.store.all("eip").map((r) => r.fields.EipAddress));
  for (let n = 1; n < 2 * 65536; n++) {
    const ip = `198.${18 + Math.floor(n / 65536)}.${Math.floor(n / 256) % 256}.${n % 256}`;
    if (n % 256 !== 0 && n % 256 !== 255 && !used.has(ip) && (call.booter?.claimAddress?.(ip) ?? true)) return ip;
  }
  throw new ApiError(400, "QuotaExceeded.EipAddress", "No more elastic IPs.");
}

const AllocateEipAddress: Action = (call) => {
  const { params, store } = call;
  const billing = num(params, "BillingType") ?? 2;
  if (!BILLING.has(billing)) throw invalid("BillingType", String(billing));
  const bandwidth = num(params, "Bandwidth") ?? 1;
  const max = billing === 3 ? 200 : 500;
  if (bandwidth < 1 || bandwidth > max)
    throw invalid("Bandwidth", `${bandwidth} Mbps is outside 1-${max} for ${BILLING.get(billing)}`);
  const isp = str(params, "ISP") ?? "BGP";
  if (!["BGP", "ChinaMobile", "ChinaUnicom", "ChinaTelecom", "SingleLine_BGP", "Static_BGP"].includes(isp))
    throw invalid("ISP", isp);
  checkName(str(params, "Name"), "Name");
  checkDescription(str(params, "Description"));
  const id = store.newId("eip");
  store.create(
    "eip",
    id,
    {
      AllocationId: id,
      EipAddress: nextAddress(call),
      Name: str(params, "Name") ?? "",
      Description: str(params, "Description") ?? "",
      BillingType: billing,
      Bandwidth: bandwidth,
      ISP: isp,
      Tags: tags(params),
      ProjectName: str(params, "ProjectName") ?? "default",
      InstanceId: "",
      InstanceType: "",
      CreationTime: isoNow(),
      UpdatedAt: isoNow(),
      LockReason: "",
      BusinessStatus: "Normal",
      SecurityProtectionTypes: [],
    },
    { from: "Allocating", to: "Available" },
  );
  return { AllocationId: id, EipAddress: store.get("eip", id)!.fields.EipAddress };
};

const DescribeEipAddresses: Action = ({ params, store }) => {
  const ids = strings(params, "AllocationIds");
  const addresses = strings(params, "EipAddresses");
  const found = store
    .all("eip")
    .filter(
      (r) =>
        (ids.length === 0 || ids.includes(r.id)) &&
        (addresses.length === 0 || addresses.includes(String(r.fields.EipAddress))),
    );
  return page(
    found.map((r) => r.fields),
    params,
    "EipAddresses",
  );
};

const DescribeEipAddressAttributes: Action = (call) => getEip(call, required(call.params, "AllocationId")).fields;

const ModifyEipAddressAttributes: Action = (call) => {
  const eip = getEip(call, required(call.params, "AllocationId"));
  checkName(str(call.params, "Name"), "Name");
  checkDescription(str(call.params, "Description"));
  const changes: Record<string, unknown> = { UpdatedAt: isoNow() };
  for (const f of ["Name", "Description"]) if (str(call.params, f) !== undefined) changes[f] = str(call.params, f);
  const bandwidth = num(call.params, "Bandwidth");
  if (bandwidth !== undefined) changes.Bandwidth = bandwidth;
  call.store.update(eip, changes);
  return {};
};

const AssociateEipAddress: Action = (call) => {
  const eip = getEip(call, required(call.params, "AllocationId"));
  const instanceId = required(call.params, "InstanceId");
  const type = str(call.params, "InstanceType") ?? "EcsInstance";
  if (type === "EcsInstance") {
    const instance = call.store.get("ecs-instance", instanceId);
    if (!instance) throw notFound("instance", instanceId).withCode("InvalidInstance.NotFound");
    if (instance.fields.EipAddress && (instance.fields.EipAddress as { AllocationId?: string }).AllocationId) {
      throw new ApiError(
        409,
        "InvalidOperation.InstanceHasEip",
        `The instance ${instanceId} already has an elastic IP.`,
      );
    }
  }
  if (eip.fields.Status !== "Available") {
    throw new ApiError(
      409,
      "IncorrectStatus.EipAddress",
      `The EIP ${eip.id} is ${String(eip.fields.Status)}, not Available.`,
    );
  }
  call.store.update(eip, { InstanceId: instanceId, InstanceType: type });
  call.store.transition(eip, "Attaching", "Attached");
  if (type === "EcsInstance") call.booter?.attachAddress(instanceId, String(eip.fields.EipAddress));
  return {};
};

const DisassociateEipAddress: Action = (call) => {
  const eip = getEip(call, required(call.params, "AllocationId"));
  if (eip.fields.Status !== "Attached") {
    throw new ApiError(
      409,
      "IncorrectStatus.EipAddress",
      `The EIP ${eip.id} is ${String(eip.fields.Status)}, not Attached.`,
    );
  }
  if (eip.fields.InstanceType === "EcsInstance")
    call.booter?.detachAddress(String(eip.fields.InstanceId), String(eip.fields.EipAddress));
  call.store.update(eip, { InstanceId: "", InstanceType: "" });
  call.store.transition(eip, "Detaching", "Available");
  return {};
};

const ReleaseEipAddress: Action = (call) => {
  const eip = getEip(call, required(call.params, "AllocationId"));
  if (eip.fields.Status !== "Available") {
    throw new ApiError(
      409,
      "InvalidOperation.EipAddressInUse",
      `The EIP ${eip.id} is ${String(eip.fields.Status)}; disassociate it first.`,
    );
  }
  call.store.delete(eip);
  call.booter?.releaseAddress?.(String(eip.fields.EipAddress));
  return {};
};

/** The EIP attached to an instance, in the shape DescribeInstances nests it. */
export function eipOf(call: Call, instanceId: string): Record<string, unknown> | undefined {
  const eip = call.store.all("eip").find((r) => r.fields.InstanceId === instanceId && r.fields.Status === "Attached");
  return (
    eip && {
      AllocationId: eip.id,
      IpAddress: eip.fields.EipAddress,
      Bandwidth: eip.fields.Bandwidth,
      ISP: eip.fields.ISP,
      ChargeType: BILLING.get(eip.fields.BillingType as number),
    }
  );
}

export const eipActions = {
  AllocateEipAddress,
  DescribeEipAddresses,
  DescribeEipAddressAttributes,
  ModifyEipAddressAttributes,
  AssociateEipAddress,
  DisassociateEipAddress,
  ReleaseEipAddress,
};
