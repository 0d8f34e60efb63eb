import type { CatalogueMetric } from "./metric-catalogue.js";
import type { AlarmRule } from "./synthesized-rules.js";

/**
 * Judging one alarm rule against the catalogue's metrics of its namespace. Errors are rules that
 * CloudMonitor rejects or that never fire; warnings are rules that probably work but deserve a look.
 */
export interface Finding {
  severity: "error" | "warning";
  message: string;
}

export interface RuleReport {
  rule: AlarmRule;
  findings: Finding[];
}

/** Words of a metric name, lower case: "CpuUtil" → cpu, util; "listener_unhealthy_rs_count" → listener, unhealthy, rs, count. */
export function nameWords(name: string): string[] {
  return (name.match(/[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+/g) ?? []).map((w) => w.toLowerCase());
}

const MAX_SIMILAR = 10;

/**
 * Where a metric the catalogue does not have under `<namespace>/<subNamespace>` might be instead:
 * the same name in other sub-namespaces, then names in the same sub-namespace sharing a word with
 * it (most shared words first).
 */
export function suggestAlternatives(
  subNamespace: string,
  metricName: string,
  namespaceMetrics: readonly CatalogueMetric[],
): string[] {
  const elsewhere = namespaceMetrics
    .filter((m) => m.metricName === metricName && m.subNamespace !== subNamespace)
    .map((m) => `${m.subNamespace}/${m.metricName}`);
  const words = new Set(nameWords(metricName));
  const similar = namespaceMetrics
    .filter((m) => m.subNamespace === subNamespace && m.metricName !== metricName)
    .map((m) => ({ name: m.metricName, shared: new Set(nameWords(m.metricName).filter((w) => words.has(w))).size }))
    .filter((m) => m.shared > 0)
    .sort((a, b) => b.shared - a.shared || a.name.localeCompare(b.name))
    .slice(0, MAX_SIMILAR)
    .map((m) => `${subNamespace}/${m.name}`);
  return [...new Set([...elsewhere, ...similar])];
}

const UNIT_SPELLINGS: readonly (readonly string[])[] = [
  ["percent", "%"],
  ["count", "个", "次"],
  ["bytes", "byte", "b"],
];
const sameUnitSpelledDifferently = (a: string, b: string) =>
  a.toLowerCase() === b.toLowerCase() ||
  UNIT_SPELLINGS.some((g) => g.includes(a.toLowerCase()) && g.includes(b.toLowerCase()));

function missingMetric(rule: AlarmRule, metricName: string, namespaceMetrics: readonly CatalogueMetric[]): Finding {
  const where = `${rule.namespace}/${rule.subNamespace}`;
  const subNamespaces = [...new Set(namespaceMetrics.map((m) => m.subNamespace))].sort();
  let message = subNamespaces.includes(rule.subNamespace)
    ? `metric ${metricName} is not in ${where}`
    : `metric ${metricName} is not in ${where}: ${rule.namespace} has no sub-namespace ${rule.subNamespace} (it has: ${subNamespaces.join(", ")})`;
  const suggestions = suggestAlternatives(rule.subNamespace, metricName, namespaceMetrics);
  message += suggestions.length
    ? `; did you mean: ${suggestions.join(", ")}`
    : `; no similar metric name in ${rule.namespace}`;
  return { severity: "error", message };
}

function checkCondition(
  rule: AlarmRule,
  condition: AlarmRule["conditions"][number],
  namespaceMetrics: readonly CatalogueMetric[],
): Finding[] {
  const metric = namespaceMetrics.find(
    (m) => m.subNamespace === rule.subNamespace && m.metricName === condition.metricName,
  );
  if (!metric) return [missingMetric(rule, condition.metricName, namespaceMetrics)];

  const findings: Finding[] = [];
  if (!metric.typeAlertEnable) {
    findings.push({
      severity: "error",
      message: `metric ${metric.metricName} cannot be used in alarm rules (TypeAlertEnable is false in the catalogue)`,
    });
  }
  const known = metric.dimensions.map((d) => d.name);
  for (const key of rule.dimensionKeys) {
    if (known.includes(key)) continue;
    const otherCase = known.find((k) => k.toLowerCase() === key.toLowerCase());
    findings.push({
      severity: "error",
      message: `dimension ${key} is not a dimension of ${metric.metricName}${otherCase ? ` (the catalogue spells it ${otherCase})` : ""}; its dimensions: ${known.join(", ") || "(none)"}`,
    });
  }
  if (condition.metricUnit !== undefined && condition.metricUnit !== metric.unit) {
    const note = sameUnitSpelledDifferently(condition.metricUnit, metric.unit)
      ? "probably the same unit spelled differently"
      : "the catalogue may spell units differently, but check that the threshold means what it should";
    findings.push({
      severity: "warning",
      message: `unit ${condition.metricUnit} of ${metric.metricName} differs from the catalogue's "${metric.unit}" (${note})`,
    });
  }
  for (const dimension of metric.dimensions) {
    if (dimension.required && !rule.dimensionKeys.includes(dimension.name)) {
      findings.push({
        severity: "warning",
        message: `required dimension ${dimension.name} of ${metric.metricName} is left open (the rule names no ${dimension.name}; check that it covers every one)`,
      });
    }
  }
  return findings;
}

/** Every finding about `rule`, given all catalogue metrics of its namespace. */
export function checkRule(rule: AlarmRule, namespaceMetrics: readonly CatalogueMetric[]): RuleReport {
  if (namespaceMetrics.length === 0) {
    return {
      rule,
      findings: [
        {
          severity: "error",
          message: `namespace ${rule.namespace} is unknown to the catalogue (it lists no metric in it; a saved --catalogue file may just not include it)`,
        },
      ],
    };
  }
  return { rule, findings: rule.conditions.flatMap((c) => checkCondition(rule, c, namespaceMetrics)) };
}

export const failed = (report: RuleReport) => report.findings.some((f) => f.severity === "error");

/**
 * `ok  <stack> <rule>  <ns>/<sub>/<metric>` or `FAIL <stack> <rule>  <ns>/<sub>/<metric>: <first error>`,
 * the other findings on indented lines below.
 */
export function formatRuleReport(report: RuleReport): string {
  const { rule, findings } = report;
  const subject = `${rule.stack} ${rule.ruleName}  ${rule.namespace}/${rule.subNamespace}/${rule.conditions.map((c) => c.metricName).join(",")}`;
  const errors = findings.filter((f) => f.severity === "error");
  const rest = findings.filter((f) => f !== errors[0]);
  const head = errors[0] ? `FAIL ${subject}: ${errors[0].message}` : `ok  ${subject}`;
  return [head, ...rest.map((f) => `     ${f.severity}: ${f.message}`)].join("\n");
}

export function formatSummary(reports: readonly RuleReport[], stackCount: number, source: string): string {
  const failures = reports.filter(failed).length;
  const warnings = reports.flatMap((r) => r.findings).filter((f) => f.severity === "warning").length;
  const line = `${reports.length} alarm rule${reports.length === 1 ? "" : "s"} in ${stackCount} stack${stackCount === 1 ? "" : "s"} checked against ${source}: ${reports.length - failures} ok, ${failures} failed, ${warnings} warning${warnings === 1 ? "" : "s"}`;
  return failures
    ? `${line}\nA rule on a metric, sub-namespace or dimension the catalogue does not have is created but never fires: fix the names in infra/constructs/alarms.ts.`
    : line;
}
