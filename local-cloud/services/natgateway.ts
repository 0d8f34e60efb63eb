import { page, selected, type Action, type Call, type Service } from "../api.js";
import { ApiError, invalid, notFound } from "../errors.js";
import { num, required, str, tags } from "../params.js";
import { checkDescription, checkName, cidrContains, isCidr } from "../rules.js";
import { isoNow, type Resource } from "../store.js";

/**
 * NAT gateway and SNAT entries (`natgateway` 2020-04-01, query GET; provider v0.0.196,
 * volcengine/nat/*).
 * States: NAT gateway `Creating → Available`, `Deleting →` gone; SNAT entry `Creating → Available`,
 * `Deleting →` gone.
 */

const SPECS = ["Small", "Medium", "Large", "Super"];

function natOf(call: Call, id = required(call.params, "NatGatewayId")): Resource {
  const r = call.store.get("nat-gateway", id);
  if (!r) throw notFound("NAT gateway", id).withCode("InvalidNatGateway.NotFound");
  return r;
}

const CreateNatGateway: Action = (call) => {
  const p = call.params;
  const vpc = call.store.get("vpc", required(p, "VpcId"));
  if (!vpc) throw notFound("VPC", String(p.VpcId)).withCode("InvalidVpc.NotFound");
  const subnet = call.store.get("subnet", required(p, "SubnetId"));
  if (!subnet || subnet.fields.VpcId !== vpc.id)
    throw notFound("subnet", String(p.SubnetId)).withCode("InvalidSubnet.NotFound");
  const spec = str(p, "Spec") ?? "Small";
  if (!SPECS.includes(spec)) throw invalid("Spec", SPECS.join(", "));
  checkName(str(p, "NatGatewayName"), "NatGatewayName");
  checkDescription(str(p, "Description"));
  const id = call.store.newId("ngw");
  call.store.create(
    "nat-gateway",
    id,
    {
      NatGatewayId: id,
      NatGatewayName: str(p, "NatGatewayName") ?? "",
      Description: str(p, "Description") ?? "",
      Spec: spec,
      VpcId: vpc.id,
      SubnetId: subnet.id,
      ZoneId: subnet.fields.ZoneId,
      BillingType: num(p, "BillingType") ?? 2,
      NetworkType: str(p, "NetworkType") ?? "internet",
      ProjectName: str(p, "ProjectName") ?? "default",
      Tags: tags(p),
      NetworkInterfaceId: call.store.newId("eni"),
      EipAddresses: [],
      BusinessStatus: "Normal",
      LockReason: "",
      OverdueTime: "",
      DeletedTime: "",
      ExpiredTime: "",
      CreationTime: isoNow(),
      UpdatedAt: isoNow(),
    },
    { from: "Creating", to: "Available" },
  );
  return { NatGatewayId: id, OrderId: "" };
};

/** The EIPs bound to a NAT gateway (AssociateEipAddress with InstanceType Nat). */
function eipsOf(call: Call, natId: string): Record<string, unknown>[] {
  return call.store
    .all("eip")
    .filter((e) => e.fields.InstanceId === natId && e.fields.InstanceType === "Nat")
    .map((e) => ({ AllocationId: e.id, EipAddress: e.fields.EipAddress, UsingStatus: "UsedBySnat" }));
}

const DescribeNatGateways: Action = (call) => {
  return page(
    selected(call, "nat-gateway", "NatGatewayIds").map((r) => ({ ...r.fields, EipAddresses: eipsOf(call, r.id) })),
    call.params,
    "NatGateways",
  );
};

const ModifyNatGatewayAttributes: Action = (call) => {
  const nat = natOf(call);
  checkName(str(call.params, "NatGatewayName"), "NatGatewayName");
  checkDescription(str(call.params, "Description"));
  const changes: Record<string, unknown> = {};
  for (const f of ["NatGatewayName", "Description", "Spec"])
    if (str(call.params, f) !== undefined) changes[f] = str(call.params, f);
  if (changes.Spec !== undefined && !SPECS.includes(String(changes.Spec))) throw invalid("Spec", SPECS.join(", "));
  call.store.update(nat, changes);
  return {};
};

const DeleteNatGateway: Action = (call) => {
  const nat = natOf(call);
  if (nat.fields.Status === "Deleting") return {};
  const entries = call.store.all("snat-entry").filter((s) => s.fields.NatGatewayId === nat.id);
  if (entries.length > 0)
    throw new ApiError(
      409,
      "DependencyViolation.SnatEntry",
      `The NAT gateway ${nat.id} still has SNAT entries ${entries.map((e) => e.id).join(", ")}.`,
    );
  const eips = eipsOf(call, nat.id);
  if (eips.length > 0)
    throw new ApiError(
      409,
      "DependencyViolation.EipAddress",
      `The NAT gateway ${nat.id} still has EIPs ${eips.map((e) => e.AllocationId).join(", ")} bound.`,
    );
  call.store.transition(nat, "Deleting", "Deleted", "delete");
  return {};
};

const CreateSnatEntry: Action = (call) => {
  const p = call.params;
  const nat = natOf(call);
  if (nat.fields.Status !== "Available")
    throw new ApiError(409, "IncorrectStatus.NatGateway", `The NAT gateway ${nat.id} is ${String(nat.fields.Status)}.`);
  const eipIds = required(p, "EipId").split(",");
  for (const e of eipIds) {
    const eip = call.store.get("eip", e);
    if (!eip) throw notFound("EIP", e).withCode("InvalidEipAddress.NotFound");
    if (eip.fields.InstanceId !== nat.id)
      throw new ApiError(
        400,
        "InvalidEipAddress.NotAssociated",
        `The EIP ${e} is not bound to the NAT gateway ${nat.id}.`,
      );
  }
  const subnetId = str(p, "SubnetId");
  const cidr = str(p, "SourceCidr");
  if (!subnetId === !cidr) throw invalid("SubnetId", "give exactly one of SubnetId and SourceCidr");
  if (subnetId) {
    const subnet = call.store.get("subnet", subnetId);
    if (!subnet || subnet.fields.VpcId !== nat.fields.VpcId)
      throw notFound("subnet", subnetId).withCode("InvalidSubnet.NotFound");
  }
  if (cidr && !isCidr(cidr)) throw invalid("SourceCidr", `"${cidr}" is not an IPv4 CIDR block`);
  const clash = call.store
    .all("snat-entry")
    .find(
      (s) =>
        s.fields.NatGatewayId === nat.id &&
        ((subnetId && s.fields.SubnetId === subnetId) ||
          (cidr && s.fields.SourceCidr && cidrContains(String(s.fields.SourceCidr), cidr))),
    );
  if (clash)
    throw new ApiError(
      409,
      "InvalidSnatEntry.Conflict",
      `The NAT gateway ${nat.id} already has SNAT entry ${clash.id} for this source.`,
    );
  checkName(str(p, "SnatEntryName"), "SnatEntryName");
  const id = call.store.newId("snat");
  call.store.create(
    "snat-entry",
    id,
    {
      SnatEntryId: id,
      SnatEntryName: str(p, "SnatEntryName") ?? "",
      NatGatewayId: nat.id,
      EipId: eipIds.join(","),
      EipAddress: eipIds.map((e) => call.store.get("eip", e)!.fields.EipAddress).join(","),
      SubnetId: subnetId ?? "",
      SourceCidr: cidr ?? "",
      NatIpId: "",
    },
    { from: "Creating", to: "Available" },
  );
  announceEgress(call, nat);
  return { SnatEntryId: id };
};

/**
 * The VPC's sources with a way out after a change of its SNAT entries: each entry's subnet CIDR or
 * SourceCidr, except entries being deleted (their traffic stops at the DeleteSnatEntry call).
 */
export function egressOf(call: Call, vpcId: string): string[] {
  const gateways = new Set(
    call.store
      .all("nat-gateway")
      .filter((n) => n.fields.VpcId === vpcId)
      .map((n) => n.id),
  );
  return call.store
    .all("snat-entry")
    .filter((s) => gateways.has(String(s.fields.NatGatewayId)) && s.fields.Status !== "Deleting")
    .map((s) =>
      s.fields.SourceCidr
        ? String(s.fields.SourceCidr)
        : String(call.store.get("subnet", String(s.fields.SubnetId))?.fields.CidrBlock ?? ""),
    )
    .filter(Boolean)
    .sort();
}

const announceEgress = (call: Call, nat: Resource) =>
  call.network?.egress(String(nat.fields.VpcId), egressOf(call, String(nat.fields.VpcId)));

const DescribeSnatEntries: Action = (call) => {
  return page(
    selected(call, "snat-entry", "SnatEntryIds", "NatGatewayId").map((r) => r.fields),
    call.params,
    "SnatEntries",
  );
};

function snatOf(call: Call): Resource {
  const id = required(call.params, "SnatEntryId");
  const r = call.store.get("snat-entry", id);
  if (!r) throw notFound("SNAT entry", id).withCode("InvalidSnatEntry.NotFound");
  return r;
}

const ModifySnatEntryAttributes: Action = (call) => {
  const s = snatOf(call);
  checkName(str(call.params, "SnatEntryName"), "SnatEntryName");
  const changes: Record<string, unknown> = {};
  if (str(call.params, "SnatEntryName") !== undefined) changes.SnatEntryName = str(call.params, "SnatEntryName");
  if (str(call.params, "EipId") !== undefined) changes.EipId = str(call.params, "EipId");
  call.store.update(s, changes);
  return {};
};

const DeleteSnatEntry: Action = (call) => {
  const s = snatOf(call);
  if (s.fields.Status === "Deleting") return {};
  call.store.transition(s, "Deleting", "Deleted", "delete");
  const nat = call.store.get("nat-gateway", String(s.fields.NatGatewayId));
  if (nat) announceEgress(call, nat);
  return {};
};

export const natGatewayService: Service = {
  CreateNatGateway,
  DescribeNatGateways,
  ModifyNatGatewayAttributes,
  DeleteNatGateway,
  CreateSnatEntry,
  DescribeSnatEntries,
  ModifySnatEntryAttributes,
  DeleteSnatEntry,
};
