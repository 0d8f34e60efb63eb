import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { checkRule, nameWords, suggestAlternatives } from "../../scripts/alarms/check-rule.js";
import {
  fetchNamespaceMetrics,
  parseCatalogueBody,
  type CatalogueMetric,
} from "../../scripts/alarms/metric-catalogue.js";
import { rulesOfStack, type AlarmRule } from "../../scripts/alarms/synthesized-rules.js";
import { runCheckAlarms } from "../../scripts/check-alarms.js";
import {
  RDS,
  baseEnvironment,
  cleanupSynthDirs,
  projectRoot,
  resources,
  synth,
  type SynthResult,
} from "../infra/synth-helpers.js";

/**
 * `npm run check:alarms` against REAL synthesized stacks (single server with RDS, and the cluster)
 * and a local stand-in for CloudMonitor's ListMetricDocs endpoint.
 *
 * The stand-in's responses are built here in the shape Volcengine's own code parses
 * (volcengine/veaiops, veaiops/cache/volcengine_metric.py, refresh_metrics): {"Result": {"Data": [...]}}
 * with MetricName, Namespace, SubNamespace, Unit, TypeAlertEnable, Dimensions[{DimensionName,
 * Description, Required}], .... They are NOT a recorded response: this machine has no network
 * path to Volcengine.
 */

type Dimension = [name: string, required: boolean];
interface FixtureMetric {
  MetricName: string;
  Namespace: string;
  SubNamespace: string;
  Unit: string;
  TypeAlertEnable: boolean;
  Dimensions: { DimensionName: string; Description: string; Required: boolean }[];
  [more: string]: unknown;
}

function metric(
  namespace: string,
  subNamespace: string,
  name: string,
  unit: string,
  dimensions: Dimension[],
): FixtureMetric {
  return {
    MetricName: name,
    MetricTips: "",
    Description: name,
    DescriptionCN: name,
    DescriptionEN: name,
    Namespace: namespace,
    SubNamespace: subNamespace,
    Unit: unit,
    Statistics: "avg,max,min",
    PointInterval: 60,
    PointDelay: 0,
    GroupByInterval: 60,
    OriginalPointDelay: 0,
    TypeAlertEnable: true,
    TypeConsumeEnable: true,
    Dimensions: dimensions.map(([DimensionName, Required]) => ({
      DimensionName,
      Description: DimensionName,
      Required,
    })),
    UnSupportSubNsResource: false,
    ReportMethod: "Periodic",
    QueryNotFillZero: false,
  };
}

const ECS_ID: Dimension[] = [["ResourceID", true]];
const RDS_ID: Dimension[] = [["ResourceID", true]];
/** A catalogue holding every metric the stacks' rules use, among decoys. */
function fullCatalogue(): FixtureMetric[] {
  return [
    metric("VCM_ECS", "Instance", "CpuTotal", "Percent", ECS_ID),
    metric("VCM_ECS", "Instance", "MemoryUsedUtilization", "Percent", ECS_ID),
    metric("VCM_ECS", "Instance", "NetworkInRate", "Bytes/Second", ECS_ID),
    metric("VCM_ECS", "Storage", "DiskUsageUtilization", "Percent", [
      ["ResourceID", true],
      ["DiskName", false],
    ]),
    metric("VCM_ECS", "Storage", "DiskReadBytes", "Bytes/Second", [
      ["ResourceID", true],
      ["DiskName", false],
    ]),
    metric("VCM_RDS_PostgreSQL", "resource_monitor", "CpuUtil", "Percent", RDS_ID),
    metric("VCM_RDS_PostgreSQL", "resource_monitor", "DiskUtil", "Percent", RDS_ID),
    metric("VCM_RDS_PostgreSQL", "resource_monitor", "MemUtil", "Percent", RDS_ID),
    metric("VCM_RDS_PostgreSQL", "resource_monitor", "ConnectionCount", "Count", RDS_ID),
    metric("VCM_RDS_PostgreSQL", "resource_monitor_new", "CpuUtil", "Percent", RDS_ID),
    metric("VCM_CLB", "listener", "listener_unhealthy_rs_count", "Count", [
      ["ResourceID", true],
      ["ListenerID", true],
    ]),
    metric("VCM_CLB", "listener", "listener_healthy_rs_count", "Count", [
      ["ResourceID", true],
      ["ListenerID", true],
    ]),
    metric("VCM_TOS", "bucket", "BucketStorage", "Bytes", [["ResourceID", true]]),
  ];
}

// ---- the stand-in endpoint -------------------------------------------------------------------
type Mode = "catalogue" | "500" | "garbage" | "wrong-shape" | "api-error" | "hang";
let mode: Mode = "catalogue";
let catalogue: FixtureMetric[] = fullCatalogue();
const requests: { method: string; url: string; contentType: string | undefined; body: unknown }[] = [];
let server: Server;
let endpoint: string;

function startStandIn(): Promise<void> {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
      requests.push({ method: req.method ?? "", url: req.url ?? "", contentType: req.headers["content-type"], body });
      const url = new URL(req.url ?? "/", "http://stand-in");
      const json = (status: number, value: unknown) => {
        res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(value));
      };
      // Answer only the request veaiops makes; anything else is a 404 the client must report.
      if (
        req.method !== "POST" ||
        url.pathname !== "/external/api/documents" ||
        url.searchParams.get("Action") !== "ListMetricDocs" ||
        url.searchParams.get("Version") !== "2018-01-01"
      ) {
        return json(404, { error: "not the ListMetricDocs request" });
      }
      if (mode === "hang") return; // never answers; the client must time out
      if (mode === "500") return res.writeHead(500, { "content-type": "text/plain" }).end("upstream exploded");
      if (mode === "garbage")
        return res.writeHead(200, { "content-type": "application/json" }).end("<html>login required</html>");
      if (mode === "wrong-shape") return json(200, { Result: { Items: [] } });
      if (mode === "api-error")
        return json(200, {
          ResponseMetadata: { Error: { Code: "InvalidAction", Message: "The action is not supported" } },
        });
      const namespace = (body as { Namespace?: string } | undefined)?.Namespace;
      json(200, {
        ResponseMetadata: { Action: "ListMetricDocs" },
        Result: { Data: catalogue.filter((m) => !namespace || m.Namespace === namespace) },
      });
    });
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/external/api/documents?Action=ListMetricDocs&Version=2018-01-01`;
      resolve();
    }),
  );
}

// ---- running the command ---------------------------------------------------------------------
interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

/** The real CLI as a user runs it, in a child process (async, so the stand-in keeps serving). */
function runCli(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      "npx",
      ["tsx", "scripts/check-alarms.ts", ...args],
      { cwd: projectRoot, timeout: 60_000 },
      (error, stdout, stderr) => {
        const status = error ? (typeof error.code === "number" ? error.code : -1) : 0;
        resolve({ status, stdout, stderr });
      },
    );
  });
}

/** The same command in this process (faster; same code path from arguments to exit status). */
async function runInProcess(args: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const status = await runCheckAlarms(args, { out: (l) => out.push(l), err: (l) => err.push(l) }, projectRoot);
  return { status, stdout: out.map((l) => `${l}\n`).join(""), stderr: err.map((l) => `${l}\n`).join("") };
}

const lines = (text: string, prefix: string) => text.split("\n").filter((l) => l.startsWith(prefix));
const scratch: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(path.join(tmpdir(), "check-alarms-"));
  scratch.push(dir);
  return dir;
};

// ---- the synthesized stacks ------------------------------------------------------------------
const ALERTS = { email: "oncall@example.com" };
let withAlarms: SynthResult;
/** `<stack> <rule_name>` of every rule in the synthesized JSON, read without the code under test. */
let expectedRules: string[];

beforeAll(async () => {
  await startStandIn();
  withAlarms = await synth({
    environments: {
      dev: baseEnvironment({ database: RDS, alerts: ALERTS }),
      prod: baseEnvironment({ topology: "cluster", database: RDS, alerts: ALERTS }),
    },
  });
  expectedRules = Object.entries(withAlarms.stacks)
    .flatMap(([stack, tf]) =>
      resources(tf, "volcengine_cloud_monitor_rule").map((r) => `${stack} ${r.rule_name as string}`),
    )
    .sort();
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  cleanupSynthDirs();
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  mode = "catalogue";
  catalogue = fullCatalogue();
  requests.length = 0;
});

const against = () => ["--out", withAlarms.outdir, "--catalogue-url", endpoint];
const without = (namespace: string, sub: string, name: string) => {
  const before = catalogue.length;
  catalogue = catalogue.filter((m) => !(m.Namespace === namespace && m.SubNamespace === sub && m.MetricName === name));
  expect(catalogue.length, `fixture had ${namespace}/${sub}/${name}`).toBe(before - 1);
};
const edit = (namespace: string, sub: string, name: string, change: (m: FixtureMetric) => void) => {
  const m = catalogue.find((x) => x.Namespace === namespace && x.SubNamespace === sub && x.MetricName === name);
  expect(m, `fixture has ${namespace}/${sub}/${name}`).toBeDefined();
  change(m!);
};

describe("check:alarms with every metric in the catalogue", () => {
  it("prints one ok line per rule of both stacks and exits 0, asking once per namespace (real CLI)", async () => {
    expect(expectedRules.length).toBeGreaterThanOrEqual(13); // 5 single-server + 8 or more cluster rules
    const run = await runCli(against());
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    const ok = lines(run.stdout, "ok  ").map((l) => l.slice(4).split("  ")[0]!);
    expect(ok.sort()).toEqual(expectedRules);
    expect(lines(run.stdout, "FAIL")).toEqual([]);
    expect(run.stdout).toContain("ok  todo-api-dev todo-api-dev-db-cpu  VCM_RDS_PostgreSQL/resource_monitor/CpuUtil\n");
    expect(run.stdout).toContain("ok  todo-api-prod todo-api-prod-app-2-disk  VCM_ECS/Storage/DiskUsageUtilization\n");
    expect(run.stdout).toContain(
      `${expectedRules.length} alarm rules in 2 stacks checked against ${endpoint}: ${expectedRules.length} ok, 0 failed, 0 warnings`,
    );

    const namespaces = new Set(
      Object.values(withAlarms.stacks).flatMap((tf) =>
        resources(tf, "volcengine_cloud_monitor_rule").map((r) => r.namespace as string),
      ),
    );
    expect(requests.map((r) => (r.body as { Namespace: string }).Namespace).sort()).toEqual([...namespaces].sort());
    for (const request of requests) {
      expect(request.method).toBe("POST");
      expect(request.contentType).toBe("application/json");
      expect(request.url).toBe("/external/api/documents?Action=ListMetricDocs&Version=2018-01-01");
    }
  });

  it("reads a saved response body with --catalogue instead of asking the endpoint (real CLI)", async () => {
    const file = path.join(tempDir(), "catalogue.json");
    writeFileSync(file, JSON.stringify({ Result: { Data: catalogue } }));
    const run = await runCli(["--out", withAlarms.outdir, "--catalogue", file]);
    expect(run.status).toBe(0);
    expect(lines(run.stdout, "ok  ")).toHaveLength(expectedRules.length);
    expect(run.stdout).toContain(`checked against ${file}`);
    expect(requests).toEqual([]);

    // the file is validated like a response: a missing metric in it fails the same way
    writeFileSync(file, JSON.stringify({ Result: { Data: catalogue.filter((m) => m.MetricName !== "DiskUtil") } }));
    const missing = await runInProcess(["--out", withAlarms.outdir, "--catalogue", file]);
    expect(missing.status).toBe(1);
    expect(missing.stdout).toMatch(
      /^FAIL todo-api-dev todo-api-dev-db-storage {2}VCM_RDS_PostgreSQL\/resource_monitor\/DiskUtil: metric DiskUtil is not in/m,
    );

    writeFileSync(file, JSON.stringify([{ MetricName: "CpuTotal" }]));
    const wrong = await runInProcess(["--out", withAlarms.outdir, "--catalogue", file]);
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toContain(`${file}: not a ListMetricDocs response`);
  });
});

describe("check:alarms finds wrong rules", () => {
  it("a metric the catalogue lacks fails naming rule and metric, with suggestions from the sub-namespace and elsewhere (real CLI)", async () => {
    without("VCM_RDS_PostgreSQL", "resource_monitor", "CpuUtil");
    const run = await runCli(against());
    expect(run.status).toBe(1);
    const fails = lines(run.stdout, "FAIL");
    expect(fails).toHaveLength(2); // the db-cpu rule of each stack
    expect(fails[0]).toBe(
      "FAIL todo-api-dev todo-api-dev-db-cpu  VCM_RDS_PostgreSQL/resource_monitor/CpuUtil: metric CpuUtil is not in VCM_RDS_PostgreSQL/resource_monitor; " +
        "did you mean: resource_monitor_new/CpuUtil, resource_monitor/DiskUtil, resource_monitor/MemUtil",
    );
    expect(fails[1]).toMatch(/^FAIL todo-api-prod todo-api-prod-db-cpu /);
    expect(lines(run.stdout, "ok  ")).toHaveLength(expectedRules.length - 2);
    expect(run.stdout).toContain(`${expectedRules.length - 2} ok, 2 failed`);
  });

  it("a sub-namespace the namespace does not have is named, with the ones it has", async () => {
    for (const m of catalogue) if (m.SubNamespace === "resource_monitor") m.SubNamespace = "resource_monitor_v2";
    const run = await runInProcess(against());
    expect(run.status).toBe(1);
    expect(run.stdout).toContain(
      "FAIL todo-api-dev todo-api-dev-db-storage  VCM_RDS_PostgreSQL/resource_monitor/DiskUtil: metric DiskUtil is not in VCM_RDS_PostgreSQL/resource_monitor: " +
        "VCM_RDS_PostgreSQL has no sub-namespace resource_monitor (it has: resource_monitor_new, resource_monitor_v2); did you mean: resource_monitor_v2/DiskUtil",
    );
  });

  it("a namespace without any metric is reported as unknown", async () => {
    catalogue = catalogue.filter((m) => m.Namespace !== "VCM_RDS_PostgreSQL");
    const run = await runInProcess(against());
    expect(run.status).toBe(1);
    expect(run.stdout).toContain(
      "FAIL todo-api-dev todo-api-dev-db-cpu  VCM_RDS_PostgreSQL/resource_monitor/CpuUtil: namespace VCM_RDS_PostgreSQL is unknown to the catalogue",
    );
    expect(lines(run.stdout, "FAIL")).toHaveLength(4);
  });

  it("a metric with TypeAlertEnable false cannot be used in alarm rules (real CLI)", async () => {
    edit("VCM_ECS", "Instance", "MemoryUsedUtilization", (m) => (m.TypeAlertEnable = false));
    const run = await runCli(against());
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
    edit(
      "VCM_ECS",
      "Instance",
      "CpuTotal",
      (m) => (m.Dimensions = [{ DimensionName: "ResourceId", Description: "", Required: true }]),
    );
    const run = await runInProcess(against());
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
    edit("VCM_RDS_PostgreSQL", "resource_monitor", "DiskUtil", (m) => (m.Unit = "%"));
    edit("VCM_ECS", "Instance", "CpuTotal", (m) => (m.Unit = "Bytes"));
    const run = await runInProcess(against());
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
    edit("VCM_ECS", "Storage", "DiskUsageUtilization", (m) => (m.Dimensions[1]!.Required = true));
    const run = await runInProcess(against());
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(
      "ok  todo-api-dev todo-api-dev-disk  VCM_ECS/Storage/DiskUsageUtilization\n     warning: required dimension DiskName of DiskUsageUtilization is left open",
    );
    expect(run.stdout).toMatch(/: \d+ ok, 0 failed, [1-9]\d* warnings/);
  });
});

describe("check:alarms cannot run", () => {
  it("the endpoint answering 500 exits 2 naming the URL and the status (real CLI)", async () => {
    mode = "500";
    const run = await runCli(against());
    expect(run.status).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain(`POST ${endpoint} (Namespace `);
    expect(run.stderr).toContain("HTTP 500 Internal Server Error: upstream exploded");
    expect(run.stderr).toContain("--catalogue <file>");
  });

  it("a body that is not JSON, not the documented shape, or an API error exits 2 saying so", async () => {
    mode = "garbage";
    let run = await runInProcess(against());
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("the body is not JSON: <html>login required</html>");

    mode = "wrong-shape";
    run = await runInProcess(against());
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/not a ListMetricDocs response .*: Result\.Data: /);

    mode = "api-error";
    run = await runInProcess(against());
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("the API answered with an error: InvalidAction: The action is not supported");

    mode = "catalogue";
    catalogue[0]!.TypeAlertEnable = "yes" as unknown as boolean;
    run = await runInProcess(against());
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/Result\.Data\.\d+\.TypeAlertEnable: .*boolean/);
  });

  it("a wrong endpoint path, a closed port and a silent server are reported", async () => {
    let run = await runInProcess([
      "--out",
      withAlarms.outdir,
      "--catalogue-url",
      endpoint.replace("/documents", "/docs"),
    ]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("HTTP 404");

    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    run = await runInProcess(["--out", withAlarms.outdir, "--catalogue-url", `http://127.0.0.1:${port}/x`]);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/request failed: .*ECONNREFUSED/);

    mode = "hang";
    await expect(fetchNamespaceMetrics(endpoint, "VCM_ECS", 300)).rejects.toThrow(
      "request failed: no answer within 0.3 s",
    );
  });

  it("without synthesized stacks it says to run npm run synth first (real CLI)", async () => {
    const run = await runCli(["--out", path.join(tempDir(), "cdktf.out"), "--catalogue-url", endpoint]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("run `npm run synth` first");
    expect(requests).toEqual([]);
  });

  it("unknown flags and conflicting options print the usage and exit 2", async () => {
    const run = await runCli(["--catalog", "x.json"]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("Unknown option '--catalog'");
    expect(run.stderr).toContain("usage: npm run check:alarms");

    const both = await runInProcess(["--catalogue", "x.json", "--catalogue-url", endpoint]);
    expect(both.status).toBe(2);
    expect(both.stderr).toContain("--catalogue and --catalogue-url exclude each other");

    const badUrl = await runInProcess(["--catalogue-url", "ftp://example.com/x"]);
    expect(badUrl.status).toBe(2);
    expect(badUrl.stderr).toContain("--catalogue-url: must be an http:// or https:// URL");
  });
});

describe("check:alarms without alarms", () => {
  it("says alarms are off and exits 0 when no stack has a rule", async () => {
    const off = await synth({ environments: { dev: baseEnvironment() } });
    const run = await runInProcess(["--out", off.outdir, "--catalogue-url", endpoint]);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain("alarms are off");
    expect(run.stdout).toContain("`alerts` not configured");
    expect(requests).toEqual([]);
  });
});

describe("the check's parts", () => {
  /** The fixture's VCM_ECS metrics, read by the code under test's own parser. */
  const metrics = (): CatalogueMetric[] =>
    parseCatalogueBody({ Result: { Data: catalogue } }, "fixture").filter((m) => m.namespace === "VCM_ECS");
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
    catalogue.push(
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
    const dev = rulesOfStack("todo-api-dev", withAlarms.stacks["todo-api-dev"]);
    expect(dev.map((r) => r.ruleName).sort()).toEqual(
      expectedRules.filter((r) => r.startsWith("todo-api-dev ")).map((r) => r.split(" ")[1]),
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
