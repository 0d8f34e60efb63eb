import {
  ANSWER_VALUES,
  type Answers,
  DEFAULT_ANSWERS,
  describeAnswers,
  parseAnswers,
} from "../../local-cloud/answers.js";

/**
 * The combinations of the emulator's answers (local-cloud/answers.ts) that `npm run rehearse:cloud
 * -- --answer-sets` runs the record-only environments under. Not all 2¹³ combinations: every switch
 * is tried with each of its values, and every pair of switches that answer about the same resource
 * is tried in all four combinations (security group: default rules × revoking a missing rule; IAM:
 * policy check × stored document; ECS instance: reported EIP × user data while running). Switches of
 * different resources meet only through the stack's dependencies, and a failure that one answer
 * causes shows up in a run with that answer whatever the others say. Four rows cover that:
 */
export interface AnswerSet {
  id: string;
  answers: Answers;
}

const pick = (id: string, overrides: Partial<Answers>): AnswerSet => ({
  id,
  answers: { ...DEFAULT_ANSWERS, ...overrides },
});

/** Each switch's other value (the second of ANSWER_VALUES). */
const OTHER = Object.fromEntries(
  Object.entries(ANSWER_VALUES).map(([k, values]) => [k, values[1]]),
) as unknown as Answers;

export const ANSWER_SETS: AnswerSet[] = [
  pick("defaults", {}),
  pick("other", OTHER),
  pick("mixed-a", {
    keyPairProjectName: "returned",
    rdsChargeNumber: "omitted",
    securityGroupDefaultRules: "none",
    revokeMissingRule: "refused",
    iamPolicyCheck: "unchecked",
    iamPolicyDocument: "normalised",
    instanceEipAddress: "omitted",
    userDataWhileRunning: "ignored",
    iamRoleAttach: "delayed",
    rdsChangesWhileBusy: "accepted",
  }),
  pick("mixed-b", {
    lifecycleFieldNames: "exact",
    securityGroupDefaultRules: "egress-all",
    revokeMissingRule: "succeeds",
    iamPolicyCheck: "checked",
    iamPolicyDocument: "verbatim",
    instanceEipAddress: "reported",
    userDataWhileRunning: "refused",
  }),
];

/** Pairs of switches that answer about the same resource: the sets must hold all four combinations of each. */
export const SAME_RESOURCE: [keyof Answers, keyof Answers][] = [
  ["securityGroupDefaultRules", "revokeMissingRule"],
  ["iamPolicyCheck", "iamPolicyDocument"],
  ["instanceEipAddress", "userDataWhileRunning"],
];

/** `--answers k=v,…` (one set, named by what differs from the defaults) or `--answer-sets` (every row above). */
export function answerSetsFrom(option: string | undefined, all: boolean): AnswerSet[] {
  if (all) return ANSWER_SETS;
  const answers = parseAnswers(option);
  return [{ id: describeAnswers(answers) ? "custom" : "defaults", answers }];
}
