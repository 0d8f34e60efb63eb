/** `npm run check:alarms` passing, failing and warning on the synthesized rules. */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { resources } from "../../infra/synth-helpers.js";
import { lines, runCli, runInProcess, useCheckAlarmsFixture } from "./fixture.js";

const fx = useCheckAlarmsFixture();
const { standIn } = fx;

describe("check:alarms with every metric in the catalogue", () => {
  it("prints one ok line per rule of both stacks and exits 0, asking once per namespace (real CLI)", async () => {
    expect(fx.expectedRules.length).toBeGreaterThanOrEqual(13); // 5 single-server + 8 or more cluster rules
    const run = await runCli(fx.against());
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    const ok = lines(run.stdout, "ok  ").map((l) => l.slice(4).split("  ")[0]!);
    expect(ok.sort()).toEqual(fx.expectedRules);
    expect(lines(run.stdout, "FAIL")).toEqual([]);
    expect(run.stdout).toContain("ok  todo-api-dev todo-api-dev-db-cpu  VCM_RDS_PostgreSQL/resource_monitor/CpuUtil\n");
    expect(run.stdout).toContain("ok  todo-api-prod todo-api-prod-app-2-disk  VCM_ECS/Storage/DiskUsageUtilization\n");
    expect(run.stdout).toContain(
      `${fx.expectedRules.length} alarm rules in 2 stacks checked against ${standIn.endpoint}: ${fx.expectedRules.length} ok, 0 failed, 0 warnings`,
    );

    const namespaces = new Set(
      Object.values(fx.withAlarms.stacks).flatMap((tf) =>
        resources(tf, "volcengine_cloud_monitor_rule").map((r) => r.namespace as string),
      ),
    );
    expect(standIn.requests.map((r) => (r.body as { Namespace: string }).Namespace).sort()).toEqual(
      [...namespaces].sort(),
    );
    for (const request of standIn.requests) {
      expect(request.method).toBe("POST");
      expect(request.contentType).toBe("application/json");
      expect(request.url).toBe("/external/api/documents?Action=ListMetricDocs&Version=2018-01-01");
    }
  });

  it("reads a saved response body with --catalogue instead of asking the endpoint (real CLI)", async () => {
    const file = path.join(fx.tempDir(), "catalogue.json");
    writeFileSync(file, JSON.stringify({ Result: { Data: standIn.catalogue } }));
    const run = await runCli(["--out", fx.withAlarms.outdir, "--catalogue", file]);
    expect(run.status).toBe(0);
    expect(lines(run.stdout, "ok  ")).toHaveLength(fx.expectedRules.length);
    expect(run.stdout).toContain(`checked against ${file}`);
    expect(standIn.requests).toEqual([]);

    // the file is validated like a response: a missing metric in it fails the same way
    writeFileSync(
      file,
      JSON.stringify({ Result: { Data: standIn.catalogue.filter((m) => m.MetricName !== "DiskUtil") } }),
    );
    const missing = await runInProcess(["--out", fx.withAlarms.outdir, "--catalogue", file]);
    expect(missing.status).toBe(1);
    expect(missing.stdout).toMatch(
      /^FAIL todo-api-dev todo-api-dev-db-storage {2}VCM_RDS_PostgreSQL\/resource_monitor\/DiskUtil: metric DiskUtil is not in/m,
    );

    writeFileSync(file, JSON.stringify([{ MetricName: "CpuTotal" }]));
    const wrong = await runInProcess(["--out", fx.withAlarms.outdir, "--catalogue", file]);
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toContain(`${file}: not a ListMetricDocs response`);
  });
});

describe("check:alarms finds wrong rules", () => {
  it("a metric the catalogue lacks fails naming rule and metric, with suggestions from the sub-namespace and elsewhere (real CLI)", async () => {
    standIn.without("VCM_RDS_PostgreSQL", "resource_monitor", "CpuUtil");
    const run = await runCli(fx.against());
    expect(run.status).toBe(1);
    const fails = lines(run.stdout, "FAIL");
    expect(fails).toHaveLength(2); // the db-cpu rule of each stack
    expect(fails[0]).toBe(
      "FAIL todo-api-dev todo-api-dev-db-cpu  VCM_RDS_PostgreSQL/resource_monitor/CpuUtil: metric CpuUtil is not in VCM_RDS_PostgreSQL/resource_monitor; " +
        "did you mean: resource_monitor_new/CpuUtil, resource_monitor/DiskUtil, resource_monitor/MemUtil",
    );
    expect(fails[1]).toMatch(/^FAIL todo-api-prod todo-api-prod-db-cpu /);
    expect(lines(run.stdout, "ok  ")).toHaveLength(fx.expectedRules.length - 2);
    expect(run.stdout).toContain(`${fx.expectedRules.length - 2} ok, 2 failed`);
  });

  it("a sub-namespace the namespace does not have is named, with the ones it has", async () => {
    for (const m of standIn.catalogue)
      if (m.SubNamespace === "resource_monitor") m.SubNamespace = "resource_monitor_v2";
    const run = await runInProcess(fx.against());
    expect(run.status).toBe(1);
    expect(run.stdout).toContain(
      "FAIL todo-api-dev todo-api-dev-db-storage  VCM_RDS_PostgreSQL/resource_monitor/DiskUtil: metric DiskUtil is not in VCM_RDS_PostgreSQL/resource_monitor: " +
        "VCM_RDS_PostgreSQL has no sub-namespace resource_monitor (it has: resource_monitor_new, resource_monitor_v2); did you mean: resource_monitor_v2/DiskUtil",
    );
  });

  it("a namespace without any metric is reported as unknown", async () => {
    standIn.catalogue = standIn.catalogue.filter((m) => m.Namespace !== "VCM_RDS_PostgreSQL");
    const run = await runInProcess(fx.against());
    expect(run.status).toBe(1);
    expect(run.stdout).toContain(
      "FAIL todo-api-dev todo-api-dev-db-cpu  VCM_RDS_PostgreSQL/resource_monitor/CpuUtil: namespace VCM_RDS_PostgreSQL is unknown to the catalogue",
    );
    expect(lines(run.stdout, "FAIL")).toHaveLength(4);
  });

  it("a metric with TypeAlertEnable false cannot be used in alarm rules (real CLI)", async () => {
    standIn.edit("VCM_ECS", "Instance", "MemoryUsedUtilization", (m) => (m.TypeAlertEnable = false));
    const run = await runCli(fx.against());
    expect(run.status).toBe(1);
    const fails = lines(run.stdout, "FAIL");
    expect(fails.length).toBeGreaterThanOrEqual(3); // dev's server and each cluster app server
    for (const line of fails) {
      expect(line).toMatch(
        /-memory {2}VCM_ECS\/Instance\/MemoryUsedUtilization: metric MemoryUsedUtilization cannot be used in alarm rules \(TypeAlertEnable is false/,
      );
    }
  });

  it("a dimension key the metric does not list fails, with the catalogue's spelling if only the case differs", async () => {
    standIn.edit(
      "VCM_ECS",
      "Instance",
      "CpuTotal",
      (m) => (m.Dimensions = [{ DimensionName: "ResourceId", Description: "", Required: true }]),
    );
    const run = await runInProcess(fx.against());
    expect(run.status).toBe(1);
    expect(run.stdout).toContain(
      "FAIL todo-api-dev todo-api-dev-cpu  VCM_ECS/Instance/CpuTotal: dimension ResourceID is not a dimension of CpuTotal (the catalogue spells it ResourceId); its dimensions: ResourceId",
    );
    // the rule also leaves the (differently spelled) required dimension open
    expect(run.stdout).toContain("     warning: required dimension ResourceId of CpuTotal is left open");
  });
});

describe("check:alarms warnings", () => {
  it("a unit spelled differently is a warning, not a failure", async () => {
    standIn.edit("VCM_RDS_PostgreSQL", "resource_monitor", "DiskUtil", (m) => (m.Unit = "%"));
    standIn.edit("VCM_ECS", "Instance", "CpuTotal", (m) => (m.Unit = "Bytes"));
    const run = await runInProcess(fx.against());
    expect(run.status).toBe(0);
    expect(lines(run.stdout, "FAIL")).toEqual([]);
    expect(run.stdout).toContain(
      'ok  todo-api-dev todo-api-dev-db-storage  VCM_RDS_PostgreSQL/resource_monitor/DiskUtil\n     warning: unit Percent of DiskUtil differs from the catalogue\'s "%" (probably the same unit spelled differently)',
    );
    expect(run.stdout).toContain(
      'warning: unit Percent of CpuTotal differs from the catalogue\'s "Bytes" (the catalogue may spell units differently',
    );
  });

  it("a required dimension the rule leaves open is a warning", async () => {
    standIn.edit("VCM_ECS", "Storage", "DiskUsageUtilization", (m) => (m.Dimensions[1]!.Required = true));
    const run = await runInProcess(fx.against());
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(
      "ok  todo-api-dev todo-api-dev-disk  VCM_ECS/Storage/DiskUsageUtilization\n     warning: required dimension DiskName of DiskUsageUtilization is left open",
    );
    expect(run.stdout).toMatch(/: \d+ ok, 0 failed, [1-9]\d* warnings/);
  });
});
