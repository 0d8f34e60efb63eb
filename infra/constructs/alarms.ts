import { Construct } from "constructs";
import { CloudMonitorContact } from "../../.gen/providers/volcengine/cloud-monitor-contact/index.js";
import { CloudMonitorContactGroup } from "../../.gen/providers/volcengine/cloud-monitor-contact-group/index.js";
import { CloudMonitorRule } from "../../.gen/providers/volcengine/cloud-monitor-rule/index.js";
import { tagBlocks } from "./tags.js";
import { apiDescription } from "./description.js";

/**
 * One threshold alarm on a CloudMonitor metric.
 *
 * Where the names come from (the CloudMonitor console's metric catalogue
 * https://console.volcengine.com/cloud_monitor/docs?namespace=VCM_ECS is the authority; it needs
 * a login and was not read directly):
 * - ECS, CONFIRMED by Volcengine's own code: the metric schema served by Volcengine's CloudMonitor
 *   MCP server (repo volcengine/mcp-server, file
 *   server/mcp_server_cloudmonitor/src/mcp_server_cloudmonitor/server.py, resource "data://schema"):
 *   - namespace `VCM_ECS`, sub-namespace `Instance`, dimension `ResourceID`: `CpuTotal`
 *     (Percent, "实例CPU总使用率") and `MemoryUsedUtilization` (Percent);
 *   - namespace `VCM_ECS`, sub-namespace **`Storage`**, dimensions `ResourceID,DiskName`:
 *     `DiskUsageUtilization` (Percent, "磁盘已用容量占总容量比例").
 *   The BytePlus provider's `byteplus_cloud_monitor_rule` docs (repo
 *   byteplus-sdk/terraform-provider-byteplus, website/docs/r/cloud_monitor_rule.html.markdown; BytePlus
 *   is Volcengine's international sibling, same provider code base) show exactly such a rule:
 *   `VCM_ECS`/`Storage`, `DiskUsageUtilization` in Percent, `original_dimensions` with the key
 *   `ResourceID` only. So the disk rule names only the instance and covers every disk of it
 *   (`DiskName` left open); our servers have just the system disk.
 * - `evaluation_count`: the same docs say "Unit in minutes" and allow 1, 3, 5, 10, 15, 30, 60, 120
 *   (hence the type of `evaluationCount`).
 * - Namespace `VCM_RDS_PostgreSQL`: Volcengine's "支持的云产品" page
 *   (https://www.volcengine.com/docs/6408/1115078), as transcribed in public repositories.
 * - RDS for PostgreSQL `CpuUtil` / `DiskUtil` in sub-namespace `resource_monitor`: NOT CONFIRMED.
 *   Inferred from VCM_RDS_MySQL, for which third-party code uses the same metric names in
 *   `resource_monitor` and in `resource_monitor_new`. No public Volcengine source for the
 *   PostgreSQL names was found; `npm run check:alarms` checks them (and every other rule)
 *   against CloudMonitor's live metric catalogue — see docs/operations.md.
 * Memory and disk usage are measured inside the guest by Volcengine's monitoring agent
 * (Guance's Volcengine ECS page: "需要在 volcengine ECS 控制台安装监控插件"); without the agent those
 * two alarms have no data.
 */
/** The values `evaluation_count` accepts (provider docs cited above). */
export type EvaluationCount = 1 | 3 | 5 | 10 | 15 | 30 | 60 | 120;

export interface MetricAlarm {
  /** Short id, part of the rule name. */
  readonly id: string;
  readonly description: string;
  readonly namespace: string;
  readonly subNamespace: string;
  readonly metricName: string;
  readonly metricUnit: string;
  readonly comparison: ">" | ">=";
  readonly threshold: number;
  readonly statistics: "avg" | "max";
  /**
   * Consecutive minutes over the threshold before the alarm fires ("Unit in minutes" in the
   * provider docs cited above, which allow only these values).
   */
  readonly evaluationCount: EvaluationCount;
  readonly level: "critical" | "warning" | "notice";
  /**
   * The rule's `original_dimensions`: which resource (and part of it) the metric is about, e.g.
   * `{ ResourceID: <ECS instance id> }` or `{ ResourceID: <CLB id>, ListenerID: <listener id> }`.
   */
  readonly dimensions: Readonly<Record<string, string>>;
}

export function serverAlarms(name: string, instanceId: string): MetricAlarm[] {
  const common = {
    namespace: "VCM_ECS",
    metricUnit: "Percent",
    comparison: ">" as const,
    dimensions: { ResourceID: instanceId },
  };
  return [
    {
      ...common,
      subNamespace: "Instance",
      id: "cpu",
      description: `CPU of ${name} above 80 percent for 5 minutes`,
      metricName: "CpuTotal",
      threshold: 80,
      statistics: "avg",
      evaluationCount: 5,
      level: "warning",
    },
    {
      ...common,
      subNamespace: "Instance",
      id: "memory",
      description: `Memory of ${name} above 85 percent`,
      metricName: "MemoryUsedUtilization",
      threshold: 85,
      statistics: "avg",
      evaluationCount: 3,
      level: "warning",
    },
    {
      ...common,
      // Disk metrics live in their own sub-namespace, per disk (see the sources above).
      subNamespace: "Storage",
      id: "disk",
      description: `System disk of ${name} above 85 percent full`,
      metricName: "DiskUsageUtilization",
      threshold: 85,
      statistics: "max",
      evaluationCount: 1,
      level: "critical",
    },
  ];
}

/**
 * The database's CPU and storage. The sub-namespace and metric names are UNCONFIRMED for
 * PostgreSQL (see the sources above): if the catalogue names them differently, the rules are
 * created but never fire — `npm run check:alarms` says so before a deploy.
 */
export function databaseAlarms(name: string, rdsInstanceId: string): MetricAlarm[] {
  const common = {
    namespace: "VCM_RDS_PostgreSQL",
    subNamespace: "resource_monitor",
    metricUnit: "Percent",
    comparison: ">" as const,
    dimensions: { ResourceID: rdsInstanceId },
  };
  return [
    {
      ...common,
      id: "db-cpu",
      description: `CPU of the ${name} database above 80 percent for 5 minutes`,
      metricName: "CpuUtil",
      threshold: 80,
      statistics: "avg",
      evaluationCount: 5,
      level: "warning",
    },
    {
      ...common,
      id: "db-storage",
      description: `Storage of the ${name} database above 85 percent full`,
      metricName: "DiskUtil",
      threshold: 85,
      statistics: "max",
      evaluationCount: 1,
      level: "critical",
    },
  ];
}

/**
 * The app's health as the load balancer sees it (cluster topology). The CLB checks GET /readyz
 * through Nginx on every app server every 2 s (see LoadBalancer); `listener_unhealthy_rs_count`
 * counts the servers currently failing that check. One failing server for 3 minutes is a warning
 * (the others still serve); the alarm recovers when the server passes again.
 *
 * Source: Guance's Volcengine CLB integration (repo GuanceCloud/guance-docs, file
 * docs/en/integrations/volcengine_clb.md), which lists the CloudMonitor catalogue's `VCM_CLB` metrics: sub-namespace
 * `listener`, `listener_unhealthy_rs_count` ("Unhealthy Backend Servers", unit Count, dimensions
 * `ResourceID,ListenerID`). `npm run check:alarms` checks it against the live catalogue.
 */
export function loadBalancerAlarms(name: string, loadBalancerId: string, listenerId: string): MetricAlarm[] {
  return [
    {
      id: "unhealthy-servers",
      description: `An app server of ${name} failing GET readyz at the load balancer for 3 minutes`,
      namespace: "VCM_CLB",
      subNamespace: "listener",
      metricName: "listener_unhealthy_rs_count",
      metricUnit: "Count",
      comparison: ">",
      threshold: 0,
      statistics: "max",
      evaluationCount: 3,
      level: "warning",
      dimensions: { ResourceID: loadBalancerId, ListenerID: listenerId },
    },
  ];
}

export interface AlarmsProps {
  /** Prefix of every resource name, e.g. "todo-api-dev" (`<project>-<environment>`). */
  readonly name: string;
  /** Region whose metrics the rules watch. */
  readonly region: string;
  /** Address of the environment's on-call contact. */
  readonly email: string;
  /**
   * The alert webhook: a reference to the sensitive variable holding its URL (never the literal),
   * and what each rule checks at plan before it would call it (the variable is set).
   * @default - alarms go by e-mail only
   */
  readonly webhook?: {
    readonly url: string;
    readonly preconditions: readonly { readonly condition: string; readonly errorMessage: string }[];
  };
  /** One CloudMonitor rule each. */
  readonly alarms: readonly MetricAlarm[];
  /** Tags put on every taggable resource (the stack adds managed-by, app and environment). */
  readonly tags: Readonly<Record<string, string>>;
}

/**
 * CloudMonitor alarms of an environment: a contact (the alert e-mail) in a contact group of the
 * environment, and one rule per metric alarm notifying that group by e-mail (and the webhook if
 * configured), again when the alarm recovers. Rules are active around the clock.
 */
export class Alarms extends Construct {
  readonly contactGroupId: string;

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    const contact = new CloudMonitorContact(this, "contact", {
      name: `${props.name}-oncall`,
      email: props.email,
    });
    const group = new CloudMonitorContactGroup(this, "contact-group", {
      name: `${props.name}-alerts`,
      description: apiDescription(`Receives the alarms of ${props.name}`),
      contactsIdList: [contact.id],
    });
    this.contactGroupId = group.id;

    for (const alarm of props.alarms) {
      new CloudMonitorRule(this, `rule-${alarm.id}`, {
        ruleName: `${props.name}-${alarm.id}`,
        description: apiDescription(alarm.description),
        namespace: alarm.namespace,
        subNamespace: alarm.subNamespace,
        regions: [props.region],
        level: alarm.level,
        enableState: "enable",
        effectStartAt: "00:00",
        effectEndAt: "23:59",
        evaluationCount: alarm.evaluationCount,
        // Minutes between repeated notifications while the alarm stays on.
        silenceTime: 30,
        alertMethods: props.webhook ? ["Email", "Webhook"] : ["Email"],
        contactGroupIds: [group.id],
        webHook: props.webhook?.url,
        // Without the variable the rule would call an empty URL: asked for at plan (not on destroy).
        lifecycle: props.webhook ? { precondition: [...props.webhook.preconditions] } : undefined,
        conditions: [
          {
            metricName: alarm.metricName,
            metricUnit: alarm.metricUnit,
            statistics: alarm.statistics,
            comparisonOperator: alarm.comparison,
            threshold: String(alarm.threshold),
          },
        ],
        originalDimensions: Object.entries(alarm.dimensions).map(([key, value]) => ({ key, value: [value] })),
        recoveryNotify: { enable: true },
        tags: tagBlocks(props.tags),
      });
    }
  }
}
