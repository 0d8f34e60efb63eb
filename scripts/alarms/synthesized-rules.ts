import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";

/**
 * The CloudMonitor alarm rules (`volcengine_cloud_monitor_rule`) of synthesized stacks, as far as
 * the metric catalogue can judge them: where the metric lives and which dimensions the rule sets.
 */
export interface AlarmCondition {
  metricName: string;
  /** The unit the rule states for the threshold; the provider requires it, older output may lack it. */
  metricUnit?: string;
}

export interface AlarmRule {
  stack: string;
  /** Terraform resource name inside the stack (for finding the rule in cdk.tf.json). */
  resource: string;
  ruleName: string;
  namespace: string;
  subNamespace: string;
  conditions: AlarmCondition[];
  /** Keys of `original_dimensions` (the values are resource ids, unknown until apply). */
  dimensionKeys: string[];
}

/** Something that stops the check before any rule is judged (exit status 2). */
export class CannotCheckError extends Error {
  override name = "CannotCheckError";
}

const ruleSchema = z.object({
  rule_name: z.string().min(1),
  namespace: z.string().min(1),
  sub_namespace: z.string().min(1),
  conditions: z.array(z.object({ metric_name: z.string().min(1), metric_unit: z.string().optional() })).min(1),
  original_dimensions: z.array(z.object({ key: z.string().min(1) })).optional(),
});

const stackSchema = z.object({
  resource: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
});

export const RULE_TYPE = "volcengine_cloud_monitor_rule";

/** The alarm rules of one stack's parsed cdk.tf.json. */
export function rulesOfStack(stack: string, tfJson: unknown): AlarmRule[] {
  const parsed = stackSchema.safeParse(tfJson);
  if (!parsed.success)
    throw new CannotCheckError(
      `stack ${stack}: cdk.tf.json has no valid "resource" object: ${formatIssues(parsed.error)}`,
    );
  const rules = parsed.data.resource?.[RULE_TYPE] ?? {};
  return Object.entries(rules).map(([resource, raw]) => {
    const rule = ruleSchema.safeParse(raw);
    if (!rule.success) {
      throw new CannotCheckError(
        `stack ${stack}: ${RULE_TYPE}.${resource} is not a rule this check understands: ${formatIssues(rule.error)}`,
      );
    }
    return {
      stack,
      resource,
      ruleName: rule.data.rule_name,
      namespace: rule.data.namespace,
      subNamespace: rule.data.sub_namespace,
      conditions: rule.data.conditions.map((c) => ({
        metricName: c.metric_name,
        ...(c.metric_unit === undefined ? {} : { metricUnit: c.metric_unit }),
      })),
      dimensionKeys: (rule.data.original_dimensions ?? []).map((d) => d.key),
    };
  });
}

export interface SynthesizedRules {
  /** Names of the stacks found (directories under <out>/stacks holding a cdk.tf.json). */
  stacks: string[];
  rules: AlarmRule[];
}

/** Every alarm rule of every stack `cdktf synth` wrote to `outDir` (`<outDir>/stacks/<stack>/cdk.tf.json`). */
export function readSynthesizedRules(outDir: string): SynthesizedRules {
  const stacksDir = path.join(outDir, "stacks");
  const stacks = existsSync(stacksDir)
    ? readdirSync(stacksDir, { withFileTypes: true })
        .filter((e) => e.isDirectory() && existsSync(path.join(stacksDir, e.name, "cdk.tf.json")))
        .map((e) => e.name)
        .sort()
    : [];
  if (stacks.length === 0) {
    throw new CannotCheckError(
      `no synthesized stack in ${stacksDir}/*/cdk.tf.json: run \`npm run synth\` first (or pass --out <cdktf.out dir>)`,
    );
  }
  const rules = stacks.flatMap((stack) => {
    const file = path.join(stacksDir, stack, "cdk.tf.json");
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(file, "utf8"));
    } catch (err) {
      throw new CannotCheckError(
        `cannot read ${file}: ${err instanceof Error ? err.message : String(err)}; run \`npm run synth\` again`,
      );
    }
    return rulesOfStack(stack, json);
  });
  return { stacks, rules };
}

/** zod issues as `path: message` lines joined by "; " (the first few only). */
export function formatIssues(error: z.ZodError, max = 5): string {
  const lines = error.issues
    .slice(0, max)
    .map((i) => `${i.path.length ? i.path.join(".") : "(top level)"}: ${i.message}`);
  if (error.issues.length > max) lines.push(`and ${error.issues.length - max} more`);
  return lines.join("; ");
}
