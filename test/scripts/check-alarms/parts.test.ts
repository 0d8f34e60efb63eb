/** The parts of `npm run check:alarms`: name words, suggestions, one rule's check, reading a stack's rules. */
import { describe, expect, it } from "vitest";
import { checkRule, nameWords, suggestAlternatives } from "../../../scripts/alarms/check-rule.js";
import { parseCatalogueBody, type CatalogueMetric } from "../../../scripts/alarms/metric-catalogue.js";
import { rulesOfStack, type AlarmRule } from "../../../scripts/alarms/synthesized-rules.js";
import { ECS_ID, metric } from "./catalogue-stand-in.js";
import { useCheckAlarmsFixture } from "./fixture.js";

const fx = useCheckAlarmsFixture();
const { standIn } = fx;

describe("the check's parts", () => {
  /** The fixture's VCM_ECS metrics, read by the code under test's own parser. */
  const metrics = (): CatalogueMetric[] =>
    parseCatalogueBody({ Result: { Data: standIn.catalogue } }, "fixture").filter((m) => m.namespace === "VCM_ECS");
  const rule = (overrides: Partial<AlarmRule> = {}): AlarmRule => ({
    stack: "s",
    resource: "r",
    ruleName: "s-cpu",
    namespace: "VCM_ECS",
    subNamespace: "Instance",
    conditions: [{ metricName: "CpuTotal", metricUnit: "Percent" }],
    dimensionKeys: ["ResourceID"],
    ...overrides,
  });

  it("splits metric names into words across CamelCase, acronyms and underscores", () => {
    expect(nameWords("CpuUtil")).toEqual(["cpu", "util"]);
    expect(nameWords("MemoryUsedUtilization")).toEqual(["memory", "used", "utilization"]);
    expect(nameWords("listener_unhealthy_rs_count")).toEqual(["listener", "unhealthy", "rs", "count"]);
    expect(nameWords("CPUUtil")).toEqual(["cpu", "util"]);
  });

  it("suggests only names sharing a word, most shared words first", () => {
    standIn.catalogue.push(
      metric("VCM_ECS", "Instance", "CpuUsage", "Percent", ECS_ID),
      metric("VCM_ECS", "Instance", "CpuTotalUsage", "Percent", ECS_ID),
    );
    expect(suggestAlternatives("Instance", "CpuTotalUtil", metrics())).toEqual([
      "Instance/CpuTotal",
      "Instance/CpuTotalUsage",
      "Instance/CpuUsage",
    ]);
    expect(suggestAlternatives("Instance", "DiskUsageUtilization", metrics())).toEqual([
      "Storage/DiskUsageUtilization",
      "Instance/CpuTotalUsage",
      "Instance/CpuUsage",
      "Instance/MemoryUsedUtilization",
    ]);
    expect(suggestAlternatives("Instance", "Nothing", metrics())).toEqual([]);
  });

  it("passes a correct rule and reads the rules of a synthesized stack", () => {
    expect(checkRule(rule(), metrics()).findings).toEqual([]);
    const dev = rulesOfStack("todo-api-dev", fx.withAlarms.stacks["todo-api-dev"]);
    expect(dev.map((r) => r.ruleName).sort()).toEqual(
      fx.expectedRules.filter((r) => r.startsWith("todo-api-dev ")).map((r) => r.split(" ")[1]),
    );
    expect(dev.find((r) => r.ruleName === "todo-api-dev-disk")).toMatchObject({
      namespace: "VCM_ECS",
      subNamespace: "Storage",
      conditions: [{ metricName: "DiskUsageUtilization", metricUnit: "Percent" }],
      dimensionKeys: ["ResourceID"],
    });
    expect(() =>
      rulesOfStack("x", { resource: { volcengine_cloud_monitor_rule: { r: { rule_name: "x", conditions: [] } } } }),
    ).toThrow(/volcengine_cloud_monitor_rule\.r is not a rule this check understands/);
  });
});
