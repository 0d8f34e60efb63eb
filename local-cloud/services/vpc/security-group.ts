import { page, type Action, type Call } from "../../api.js";
import { ApiError, invalid, missing, notFound } from "../../errors.js";
import { num, required, str, strings, tags } from "../../params.js";
import { checkDescription, checkName, isCidr } from "../../rules.js";
import { isoNow, type Resource } from "../../store.js";
import { getVpc } from "./network.js";

/** Security groups and their rules (`vpc` service, 2020-04-01). */

function getGroup(call: Call, id: string): Resource {
  const r = call.store.get("security-group", id);
  if (!r) throw notFound("security group", id).withCode("InvalidSecurityGroup.NotFound");
  return r;
}

const CreateSecurityGroup: Action = (call) => {
  const { params, store } = call;
  const vpc = getVpc(call, required(params, "VpcId"));
  checkName(str(params, "SecurityGroupName"), "SecurityGroupName");
  checkDescription(str(params, "Description"));
  const id = store.newId("sg");
  store.create(
    "security-group",
    id,
    {
      SecurityGroupId: id,
      SecurityGroupName: str(params, "SecurityGroupName") ?? "",
      VpcId: vpc.id,
      Description: str(params, "Description") ?? "",
      Tags: tags(params),
      ProjectName: str(params, "ProjectName") ?? "default",
      Type: "normal",
      CreationTime: isoNow(),
      // Whether a new group holds a rule is an open question (answers.ts, securityGroupDefaultRules).
      Permissions: store.answers.securityGroupDefaultRules === "egress-all" ? [defaultEgress()] : [],
    },
    { from: "Creating", to: "Available" },
  );
  return { SecurityGroupId: id };
};

const DescribeSecurityGroups: Action = ({ params, store }) => {
  const ids = strings(params, "SecurityGroupIds");
  const vpcId = str(params, "VpcId");
  const groups = store
    .all("security-group")
    .filter((r) => (ids.length === 0 || ids.includes(r.id)) && (!vpcId || r.fields.VpcId === vpcId));
  return page(
    groups.map(({ fields: { Permissions: _p, ...rest } }) => rest),
    params,
    "SecurityGroups",
  );
};

const DescribeSecurityGroupAttributes: Action = (call) => {
  const group = getGroup(call, required(call.params, "SecurityGroupId"));
  // The API's documented filters; the provider reads a rule back by Direction, Protocol and CidrIp or
  // SourceGroupId, then matches ports, policy and priority in the answer.
  const filters = ["Direction", "Protocol", "CidrIp", "SourceGroupId"].flatMap((f) =>
    str(call.params, f) === undefined ? [] : [[f, str(call.params, f)] as const],
  );
  const rules = (group.fields.Permissions as Rule[]).filter((p) =>
    filters.every(([f, v]) => (p as unknown as Record<string, unknown>)[f] === v),
  );
  return { ...group.fields, Permissions: rules };
};

const ModifySecurityGroupAttributes: Action = (call) => {
  const group = getGroup(call, required(call.params, "SecurityGroupId"));
  checkName(str(call.params, "SecurityGroupName"), "SecurityGroupName");
  checkDescription(str(call.params, "Description"));
  const changes: Record<string, unknown> = {};
  for (const f of ["SecurityGroupName", "Description"])
    if (str(call.params, f) !== undefined) changes[f] = str(call.params, f);
  call.store.update(group, changes);
  return {};
};

const DeleteSecurityGroup: Action = (call) => {
  const group = getGroup(call, required(call.params, "SecurityGroupId"));
  const users = call.store
    .all("network-interface")
    .filter((n) => (n.fields.SecurityGroupIds as string[]).includes(group.id));
  if (users.length > 0) {
    throw new ApiError(
      409,
      "InvalidOperation.SecurityGroupInUse",
      `The security group ${group.id} is in use by ${users.map((u) => u.fields.InstanceId ?? u.id).join(", ")}.`,
    );
  }
  const referencing = call.store
    .all("security-group")
    .filter((g) => g.id !== group.id && (g.fields.Permissions as Rule[]).some((p) => p.SourceGroupId === group.id));
  if (referencing.length > 0) {
    throw new ApiError(
      409,
      "InvalidOperation.SecurityGroupInUse",
      `The security group ${group.id} is referenced by rules of ${referencing.map((g) => g.id).join(", ")}.`,
    );
  }
  call.store.transition(group, "Deleting", "Deleted", "delete");
  return {};
};

interface Rule {
  Direction: "ingress" | "egress";
  Protocol: string;
  PortStart: number;
  PortEnd: number;
  CidrIp: string;
  SourceGroupId: string;
  PrefixListId: string;
  Policy: string;
  Priority: number;
  Description: string;
  CreationTime: string;
  UpdateTime: string;
}

/** The fields that make two rules the same rule (everything but the description). */
/** The rule a new group holds under the answer "egress-all": every protocol to anywhere, accepted, priority 1. */
function defaultEgress(): Rule {
  const now = isoNow();
  return {
    Direction: "egress",
    Protocol: "all",
    PortStart: -1,
    PortEnd: -1,
    CidrIp: "0.0.0.0/0",
    SourceGroupId: "",
    PrefixListId: "",
    Policy: "accept",
    Priority: 1,
    Description: "",
    CreationTime: now,
    UpdateTime: now,
  };
}

const sameRule = (a: Rule, b: Rule) =>
  a.Direction === b.Direction &&
  a.Protocol === b.Protocol &&
  a.PortStart === b.PortStart &&
  a.PortEnd === b.PortEnd &&
  a.CidrIp === b.CidrIp &&
  a.SourceGroupId === b.SourceGroupId &&
  a.Policy === b.Policy &&
  a.Priority === b.Priority;

function ruleFrom(call: Call, direction: Rule["Direction"]): Rule {
  const p = call.params;
  const protocol = required(p, "Protocol").toLowerCase();
  if (!["tcp", "udp", "icmp", "icmpv6", "all"].includes(protocol)) throw invalid("Protocol", protocol);
  const portStart = num(p, "PortStart");
  const portEnd = num(p, "PortEnd");
  if (portStart === undefined) throw missing("PortStart");
  if (portEnd === undefined) throw missing("PortEnd");
  if (protocol === "tcp" || protocol === "udp") {
    if (portStart < 1 || portEnd > 65535 || portStart > portEnd)
      throw invalid("PortStart", `${portStart}-${portEnd} is not a port range`);
  } else if (portStart !== -1 || portEnd !== -1) {
    throw invalid("PortStart", `protocol ${protocol} takes ports -1/-1`);
  }
  const cidr = str(p, "CidrIp") ?? "";
  const source = str(p, "SourceGroupId") ?? "";
  if (!cidr && !source) throw missing("CidrIp");
  if (cidr && !isCidr(cidr)) throw invalid("CidrIp", cidr);
  if (source) getGroup(call, source);
  const priority = num(p, "Priority") ?? 1;
  if (priority < 1 || priority > 100) throw invalid("Priority", String(priority));
  const policy = str(p, "Policy") ?? "accept";
  if (!["accept", "drop"].includes(policy)) throw invalid("Policy", policy);
  checkDescription(str(p, "Description"));
  const now = isoNow();
  return {
    Direction: direction,
    Protocol: protocol,
    PortStart: portStart,
    PortEnd: portEnd,
    CidrIp: cidr,
    SourceGroupId: source,
    PrefixListId: "",
    Policy: policy,
    Priority: priority,
    Description: str(p, "Description") ?? "",
    CreationTime: now,
    UpdateTime: now,
  };
}

const authorize =
  (direction: Rule["Direction"]): Action =>
  (call) => {
    const group = getGroup(call, required(call.params, "SecurityGroupId"));
    const rule = ruleFrom(call, direction);
    const rules = group.fields.Permissions as Rule[];
    if (rules.some((r) => sameRule(r, rule)))
      throw new ApiError(409, "InvalidSecurityRule.Conflict", "The same security group rule already exists.");
    call.store.update(group, { Permissions: [...rules, rule] });
    return {};
  };

const revoke =
  (direction: Rule["Direction"]): Action =>
  (call) => {
    const group = getGroup(call, required(call.params, "SecurityGroupId"));
    const rule = ruleFrom(call, direction);
    const rules = group.fields.Permissions as Rule[];
    // Refused or not is an open question (answers.ts, revokeMissingRule).
    if (call.store.answers.revokeMissingRule === "refused" && !rules.some((r) => sameRule(r, rule)))
      throw new ApiError(404, "InvalidSecurityRule.NotFound", "The security group rule is not found.");
    call.store.update(group, { Permissions: rules.filter((r) => !sameRule(r, rule)) });
    return {};
  };

const describeRule =
  (direction: Rule["Direction"]): Action =>
  (call) => {
    const group = getGroup(call, required(call.params, "SecurityGroupId"));
    const rule = ruleFrom(call, direction);
    const rules = group.fields.Permissions as Rule[];
    const found = rules.find((r) => sameRule(r, rule));
    if (!found) throw new ApiError(404, "InvalidSecurityRule.NotFound", "The security group rule is not found.");
    call.store.update(group, {
      Permissions: rules.map((r) => (r === found ? { ...r, Description: rule.Description, UpdateTime: isoNow() } : r)),
    });
    return {};
  };

export const securityGroupActions = {
  CreateSecurityGroup,
  DescribeSecurityGroups,
  DescribeSecurityGroupAttributes,
  ModifySecurityGroupAttributes,
  DeleteSecurityGroup,
  AuthorizeSecurityGroupIngress: authorize("ingress"),
  AuthorizeSecurityGroupEgress: authorize("egress"),
  RevokeSecurityGroupIngress: revoke("ingress"),
  RevokeSecurityGroupEgress: revoke("egress"),
  ModifySecurityGroupRuleDescriptionsIngress: describeRule("ingress"),
  ModifySecurityGroupRuleDescriptionsEgress: describeRule("egress"),
};
