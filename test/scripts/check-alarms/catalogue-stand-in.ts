import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A local stand-in for CloudMonitor's ListMetricDocs endpoint, for `npm run check:alarms`.
 *
 * Its responses are built here in the shape Volcengine's own code parses
 * (volcengine/veaiops, veaiops/cache/volcengine_metric.py, refresh_metrics): {"Result": {"Data": [...]}}
 * with MetricName, Namespace, SubNamespace, Unit, TypeAlertEnable, Dimensions[{DimensionName,
 * Description, Required}], .... They are NOT a recorded response: this machine has no network
 * path to Volcengine.
 */

export type Dimension = [name: string, required: boolean];
export interface FixtureMetric {
  MetricName: string;
  Namespace: string;
  SubNamespace: string;
  Unit: string;
  TypeAlertEnable: boolean;
  Dimensions: { DimensionName: string; Description: string; Required: boolean }[];
  [more: string]: unknown;
}

export function metric(
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

export const ECS_ID: Dimension[] = [["ResourceID", true]];
export const RDS_ID: Dimension[] = [["ResourceID", true]];
/** A catalogue holding every metric the stacks' rules use, among decoys. */
export function fullCatalogue(): FixtureMetric[] {
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

/** How the stand-in answers: the catalogue, or one of the ways an endpoint goes wrong. */
export type Mode = "catalogue" | "500" | "garbage" | "wrong-shape" | "api-error" | "hang";

export class CatalogueStandIn {
  mode: Mode = "catalogue";
  catalogue: FixtureMetric[] = fullCatalogue();
  readonly requests: { method: string; url: string; contentType: string | undefined; body: unknown }[] = [];
  endpoint = "";
  private server: Server | undefined;

  /** Back to the full catalogue, answering normally, no requests seen. */
  reset(): void {
    this.mode = "catalogue";
    this.catalogue = fullCatalogue();
    this.requests.length = 0;
  }

  /** Removes one metric the fixture must have. */
  without(namespace: string, sub: string, name: string): void {
    const before = this.catalogue.length;
    this.catalogue = this.catalogue.filter(
      (m) => !(m.Namespace === namespace && m.SubNamespace === sub && m.MetricName === name),
    );
    if (this.catalogue.length !== before - 1) throw new Error(`the fixture has no ${namespace}/${sub}/${name}`);
  }

  /** Changes one metric the fixture must have. */
  edit(namespace: string, sub: string, name: string, change: (m: FixtureMetric) => void): void {
    const m = this.catalogue.find((x) => x.Namespace === namespace && x.SubNamespace === sub && x.MetricName === name);
    if (!m) throw new Error(`the fixture has no ${namespace}/${sub}/${name}`);
    change(m);
  }

  start(): Promise<void> {
    const server = createServer((req, res) => {
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
        this.requests.push({
          method: req.method ?? "",
          url: req.url ?? "",
          contentType: req.headers["content-type"],
          body,
        });
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
        if (this.mode === "hang") return; // never answers; the client must time out
        if (this.mode === "500") return res.writeHead(500, { "content-type": "text/plain" }).end("upstream exploded");
        if (this.mode === "garbage")
          return res.writeHead(200, { "content-type": "application/json" }).end("<html>login required</html>");
        if (this.mode === "wrong-shape") return json(200, { Result: { Items: [] } });
        if (this.mode === "api-error")
          return json(200, {
            ResponseMetadata: { Error: { Code: "InvalidAction", Message: "The action is not supported" } },
          });
        const namespace = (body as { Namespace?: string } | undefined)?.Namespace;
        json(200, {
          ResponseMetadata: { Action: "ListMetricDocs" },
          Result: { Data: this.catalogue.filter((m) => !namespace || m.Namespace === namespace) },
        });
      });
    });
    this.server = server;
    return new Promise((resolve) =>
      server.listen(0, "127.0.0.1", () => {
        this.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/external/api/documents?Action=ListMetricDocs&Version=2018-01-01`;
        resolve();
      }),
    );
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}
