/**
 * Where Volcengine's behaviour is not documented and the stack's fate depends on it, the emulator
 * has one switch per question instead of one guess: a scenario runs the stack under each answer
 * (harness/cloud/answer-sets.ts), so a stack that only works with one of them fails somewhere.
 * docs/local-cloud.md ("Questions the API does not answer") lists them. The default of each is the
 * answer the emulator gave before it had the switch; no default is a claim about the real API.
 */
export interface Answers {
  /** Does DescribeKeyPairs return `ProjectName` (the provider's key pairs data source reads it)? */
  keyPairProjectName: "omitted" | "returned";
  /**
   * How TOS matches the field names of a lifecycle rule. The provider sends
   * `NonCurrentVersionExpiration.NonCurrentDays` and reads `NoncurrentVersionExpiration.NoncurrentDays`:
   * "case-folded" takes either (as a JSON decoder that ignores case does); "exact" knows only TOS's
   * documented names and ignores the others, as a decoder that ignores unknown fields does.
   */
  lifecycleFieldNames: "case-folded" | "exact";
  /** Does a new security group hold a rule? "none"; "egress-all": one egress rule, all protocols to 0.0.0.0/0. */
  securityGroupDefaultRules: "none" | "egress-all";
  /**
   * Does IAM check the actions and principals of a policy document? "unchecked": JSON with a
   * `Statement` list is enough; "checked": every statement's Effect, Action (`service:Name`, `*`
   * wildcards matching at least one known action), Resource and Principal are checked, as IAM
   * checks documents.
   */
  iamPolicyCheck: "unchecked" | "checked";
  /** Does IAM answer a stored policy document as sent ("verbatim") or re-serialised ("normalised": keys sorted, no spaces)? */
  iamPolicyDocument: "verbatim" | "normalised";
  /** Does DescribeInstances report the EIP bound by AssociateEipAddress in `EipAddress`? */
  instanceEipAddress: "omitted" | "reported";
  /** User data sent to a RUNNING instance: "refused" (IncorrectInstanceStatus) or silently "ignored". */
  userDataWhileRunning: "refused" | "ignored";
  /** Does RDS answer `ChargeDetail.Number` (the resource's `charge_info.number` defaults to 1)? */
  rdsChargeNumber: "answered" | "omitted";
  /** Revoking a security group rule that does not exist: "succeeds" or "refused" (InvalidSecurityRule.NotFound). */
  revokeMissingRule: "succeeds" | "refused";
  /**
   * Can a new IAM role be attached at once? "immediate"; "delayed": for one transition time after
   * CreateRole, AttachRolePolicy and AssociateInstancesIamRole answer that the role does not exist
   * (IAM is eventually consistent; GetRole answers at once).
   */
  iamRoleAttach: "immediate" | "delayed";
  /** Changes to an RDS instance that is not Running (databases, accounts, allowlists): "refused" (OperationDenied.InstanceStatus) or "accepted". */
  rdsChangesWhileBusy: "refused" | "accepted";
  /**
   * When does a new instance of a scaling group join the CLB server groups of its
   * `ServerGroupAttributes`? "after-hook": once its SCALE_OUT lifecycle hooks have completed with
   * CONTINUE (it never takes traffic while a hook holds it); "before-hook": as soon as it is
   * created, so the load balancer's health check alone keeps traffic off it while a hook holds it.
   */
  scalingHookServerGroup: "after-hook" | "before-hook";
  /** DeleteScalingGroup of a group that still holds instances: "releases-instances" with it, or "refused" until it is empty. */
  scalingGroupDelete: "releases-instances" | "refused";
}

export const DEFAULT_ANSWERS: Answers = {
  keyPairProjectName: "omitted",
  lifecycleFieldNames: "case-folded",
  securityGroupDefaultRules: "none",
  iamPolicyCheck: "unchecked",
  iamPolicyDocument: "verbatim",
  instanceEipAddress: "omitted",
  userDataWhileRunning: "refused",
  rdsChargeNumber: "answered",
  revokeMissingRule: "succeeds",
  iamRoleAttach: "immediate",
  rdsChangesWhileBusy: "refused",
  scalingHookServerGroup: "after-hook",
  scalingGroupDelete: "releases-instances",
};

/** Every value each switch can take, in the order of the type (the first is the default). */
export const ANSWER_VALUES: { [K in keyof Answers]: readonly Answers[K][] } = {
  keyPairProjectName: ["omitted", "returned"],
  lifecycleFieldNames: ["case-folded", "exact"],
  securityGroupDefaultRules: ["none", "egress-all"],
  iamPolicyCheck: ["unchecked", "checked"],
  iamPolicyDocument: ["verbatim", "normalised"],
  instanceEipAddress: ["omitted", "reported"],
  userDataWhileRunning: ["refused", "ignored"],
  rdsChargeNumber: ["answered", "omitted"],
  revokeMissingRule: ["succeeds", "refused"],
  iamRoleAttach: ["immediate", "delayed"],
  rdsChangesWhileBusy: ["refused", "accepted"],
  scalingHookServerGroup: ["after-hook", "before-hook"],
  scalingGroupDelete: ["releases-instances", "refused"],
};

/** `key=value,key=value` (e.g. from `--answers`) over the defaults; an unknown key or value is an error. */
export function parseAnswers(text: string | undefined, base: Answers = DEFAULT_ANSWERS): Answers {
  const answers: Record<string, string> = { ...base };
  for (const pair of (text ?? "").split(",").filter(Boolean)) {
    const [key = "", value = ""] = pair.split("=");
    const allowed = (ANSWER_VALUES as Record<string, readonly string[]>)[key];
    if (!allowed) throw new Error(`unknown answer ${key} (${Object.keys(ANSWER_VALUES).join(", ")})`);
    if (!allowed.includes(value)) throw new Error(`answer ${key}=${value}: one of ${allowed.join(", ")}`);
    answers[key] = value;
  }
  return answers as unknown as Answers;
}

/** The answers that differ from the defaults, as `key=value,…` ("" for the defaults). */
export function describeAnswers(answers: Answers): string {
  return (Object.keys(DEFAULT_ANSWERS) as (keyof Answers)[])
    .filter((k) => answers[k] !== DEFAULT_ANSWERS[k])
    .map((k) => `${k}=${answers[k]}`)
    .join(",");
}
