import { page, type Action, type Call } from "../../api.js";
import { ApiError, invalid, notFound } from "../../errors.js";
import { required, str, strings, tags } from "../../params.js";
import { checkDescription, checkName, cidrContains, isCidr } from "../../rules.js";
import { isoNow, type Resource } from "../../store.js";

/** VPC and subnet actions of the `vpc` service (2020-04-01). */

export function getVpc(call: Call, id: string): Resource {
  const r = call.store.get("vpc", id);
  if (!r) throw notFound("VPC", id).withCode("InvalidVpc.NotFound");
  return r;
}

const CreateVpc: Action = ({ params, store, region }) => {
  const cidr = required(params, "CidrBlock");
  if (!isCidr(cidr)) throw invalid("CidrBlock", `"${cidr}" is not an IPv4 CIDR block`);
  checkName(str(params, "VpcName"), "VpcName");
  checkDescription(str(params, "Description"));
  const id = store.newId("vpc");
  store.create(
    "vpc",
    id,
    {
      VpcId: id,
      VpcName: str(params, "VpcName") ?? "",
      CidrBlock: cidr,
      Description: str(params, "Description") ?? "",
      DnsServers: strings(params, "DnsServers"),
      Tags: tags(params),
      ProjectName: str(params, "ProjectName") ?? "default",
      RegionId: region,
      CreationTime: isoNow(),
      SubnetIds: [],
      SecurityGroupIds: [],
      RouteTableIds: [],
      NatGatewayIds: [],
      AssociateCens: [],
      SecondaryCidrBlocks: [],
      UserCidrBlocks: [],
      IsDefault: false,
      EnableIpv6: false,
      AccountId: "2100000000",
    },
    { from: "Creating", to: "Available" },
  );
  return { VpcId: id };
};

const DescribeVpcs: Action = (call) => {
  const ids = strings(call.params, "VpcIds");
  const vpcs = call.store.all("vpc").filter((r) => ids.length === 0 || ids.includes(r.id));
  return page(
    vpcs.map((r) => withChildren(call, r)),
    call.params,
    "Vpcs",
  );
};

function withChildren(call: Call, vpc: Resource): Record<string, unknown> {
  const of = (kind: string) =>
    call.store
      .all(kind)
      .filter((r) => r.fields.VpcId === vpc.id)
      .map((r) => r.id);
  return { ...vpc.fields, SubnetIds: of("subnet"), SecurityGroupIds: of("security-group") };
}

const ModifyVpcAttributes: Action = (call) => {
  const vpc = getVpc(call, required(call.params, "VpcId"));
  checkName(str(call.params, "VpcName"), "VpcName");
  checkDescription(str(call.params, "Description"));
  const changes: Record<string, unknown> = {};
  for (const f of ["VpcName", "Description"]) if (str(call.params, f) !== undefined) changes[f] = str(call.params, f);
  if (call.params.DnsServers !== undefined) changes.DnsServers = strings(call.params, "DnsServers");
  call.store.update(vpc, changes);
  return {};
};

const DeleteVpc: Action = (call) => {
  const vpc = getVpc(call, required(call.params, "VpcId"));
  const inside = ["subnet", "security-group"].flatMap((k) =>
    call.store.all(k).filter((r) => r.fields.VpcId === vpc.id),
  );
  if (inside.length > 0) {
    throw new ApiError(
      409,
      "DependencyViolation.Vpc",
      `The VPC ${vpc.id} still contains ${inside.map((r) => r.id).join(", ")}.`,
    );
  }
  call.store.transition(vpc, "Deleting", "Deleted", "delete");
  call.network?.vpcDeleted(vpc.id);
  return {};
};

const CreateSubnet: Action = (call) => {
  const { params, store } = call;
  const vpc = getVpc(call, required(params, "VpcId"));
  const zone = required(params, "ZoneId");
  const cidr = required(params, "CidrBlock");
  if (!isCidr(cidr)) throw invalid("CidrBlock", `"${cidr}" is not an IPv4 CIDR block`);
  if (!cidrContains(String(vpc.fields.CidrBlock), cidr)) {
    throw new ApiError(
      400,
      "InvalidSubnet.CidrBlock",
      `The subnet CIDR ${cidr} is not inside the VPC's ${String(vpc.fields.CidrBlock)}.`,
    );
  }
  const overlap = store
    .all("subnet")
    .find(
      (s) =>
        s.fields.VpcId === vpc.id &&
        (cidrContains(String(s.fields.CidrBlock), cidr) || cidrContains(cidr, String(s.fields.CidrBlock))),
    );
  if (overlap)
    throw new ApiError(409, "InvalidSubnet.Conflict", `The subnet CIDR ${cidr} overlaps subnet ${overlap.id}.`);
  checkName(str(params, "SubnetName"), "SubnetName");
  checkDescription(str(params, "Description"));
  const id = store.newId("subnet");
  store.create(
    "subnet",
    id,
    {
      SubnetId: id,
      VpcId: vpc.id,
      ZoneId: zone,
      CidrBlock: cidr,
      SubnetName: str(params, "SubnetName") ?? "",
      Description: str(params, "Description") ?? "",
      Tags: tags(params),
      ProjectName: String(vpc.fields.ProjectName),
      CreationTime: isoNow(),
      AvailableIpAddressCount: 252,
      TotalIpv4Count: 252,
      RouteTable: { RouteTableId: `vtb-${vpc.id.slice(4)}`, RouteTableType: "System" },
      NetworkAclId: "",
      AccountId: "2100000000",
      Ipv6CidrBlock: "",
      EnableIpv6: false,
    },
    { from: "Pending", to: "Available" },
  );
  return { SubnetId: id };
};

const DescribeSubnets: Action = ({ params, store }) => {
  const ids = strings(params, "SubnetIds");
  const vpcId = str(params, "VpcId");
  const subnets = store
    .all("subnet")
    .filter((r) => (ids.length === 0 || ids.includes(r.id)) && (!vpcId || r.fields.VpcId === vpcId));
  return page(
    subnets.map((r) => r.fields),
    params,
    "Subnets",
  );
};

const ModifySubnetAttributes: Action = (call) => {
  const subnet = call.store.get("subnet", required(call.params, "SubnetId"));
  if (!subnet) throw notFound("Subnet", String(call.params.SubnetId)).withCode("InvalidSubnet.NotFound");
  checkName(str(call.params, "SubnetName"), "SubnetName");
  checkDescription(str(call.params, "Description"));
  const changes: Record<string, unknown> = {};
  for (const f of ["SubnetName", "Description"])
    if (str(call.params, f) !== undefined) changes[f] = str(call.params, f);
  call.store.update(subnet, changes);
  return {};
};

const DeleteSubnet: Action = (call) => {
  const subnet = call.store.get("subnet", required(call.params, "SubnetId"));
  if (!subnet) throw notFound("Subnet", String(call.params.SubnetId)).withCode("InvalidSubnet.NotFound");
  const users = call.store.all("network-interface").filter((n) => n.fields.SubnetId === subnet.id);
  if (users.length > 0)
    throw new ApiError(
      409,
      "DependencyViolation.Subnet",
      `The subnet ${subnet.id} is used by ${users.map((u) => u.fields.InstanceId ?? u.id).join(", ")}.`,
    );
  call.store.transition(subnet, "Deleting", "Deleted", "delete");
  return {};
};

export const networkActions = {
  CreateVpc,
  DescribeVpcs,
  ModifyVpcAttributes,
  DeleteVpc,
  CreateSubnet,
  DescribeSubnets,
  ModifySubnetAttributes,
  DeleteSubnet,
};
