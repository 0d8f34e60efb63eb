import { Construct } from "constructs";
import { CloudMonitorContact } from "../../.gen/providers/volcengine/cloud-monitor-contact";
import { CloudMonitorContactGroup } from "../../.gen/providers/volcengine/cloud-monitor-contact-group";
import { CloudMonitorRule } from "../../.gen/providers/volcengine/cloud-monitor-rule";
import { tagBlocks } from "./tags";

/**
 * One threshold alarm on a CloudMonitor metric.
 *
 * Where the names come from (the search of Volcengine material available to this project; the
 * CloudMonitor console's metric catalogue https://console.volcengine.com/cloud_monitor/docs?namespace=VCM_ECS
 * is the authority and needs a login, so it was NOT read directly):
 * - Namespaces `VCM_ECS` and `VCM_RDS_PostgreSQL`: Volcengine's "支持的云产品" page
 *   (https://www.volcengine.com/docs/6408/1115078), as transcribed in public repositories.
 * - ECS sub-namespace `Instance`, dimension `ResourceID` (the instance id), metrics `CpuTotal`
 *   ("CPU使用率", Percent) and `MemoryUsedUtilization` ("内存使用率", Percent): the metric table of
 *   Guance's Volcengine ECS integration (which links the console catalogue above), and the
 *   `volcenginecc_cloudmonitor_rule` example of Volcengine's successor provider
 *   (namespace VCM_ECS, sub_namespace Instance, dimension ResourceID, metric CpuTotal).
 * - `DiskUsageUtilization` (VCM_ECS/Instance): seen only in third-party code querying
 *   CloudMonitor (with an extra VolumeId dimension there); NOT confirmed by a Volcengine page.
 * - RDS for PostgreSQL `CpuUtil` / `DiskUtil` in sub-namespace `resource_monitor`: INFERRED from
 *   the same names used for VCM_RDS_MySQL in third-party code; NOT confirmed for PostgreSQL.
 * Memory and disk usage are measured inside the guest by Volcengine's monitoring agent
 * (Guance's page: "需要在 volcengine ECS 控制台安装监控插件"); without the agent those two
 * alarms have no data. See docs/operations.md for what to check in the console after deploy.
 */
export interface MetricAlarm {
  /** Short id, part of the rule name. */
  id: string;
  description: string;
  namespace: string;
  subNamespace: string;
  metricName: string;
  metricUnit: string;
  comparison: ">" | ">=";
  threshold: number;
  statistics: "avg" | "max";
  /**
   * Consecutive evaluation periods over the threshold before the alarm fires. The rule's period
   * is computed by the provider (not settable); CloudMonitor's default period is one minute
   * (unverified), so 5 periods mean "for 5 minutes".
   */
  evaluationCount: number;
  level: "critical" | "warning" | "notice";
  /** The resource the metric is about (ECS instance id or RDS instance id). */
  resourceId: string;
}

export function serverAlarms(name: string, instanceId: string): MetricAlarm[] {
  const common = { namespace: "VCM_ECS", subNamespace: "Instance", metricUnit: "Percent", comparison: ">" as const, resourceId: instanceId };
  return [
    {
      ...common,
      id: "cpu",
      description: `CPU of ${name} above 80% for 5 minutes`,
      metricName: "CpuTotal",
      threshold: 80,
      statistics: "avg",
      evaluationCount: 5,
      level: "warning",
    },
    {
      ...common,
      id: "memory",
      description: `Memory of ${name} above 85%`,
      metricName: "MemoryUsedUtilization",
      threshold: 85,
      statistics: "avg",
      evaluationCount: 3,
      level: "warning",
    },
    {
      ...common,
      id: "disk",
      description: `System disk of ${name} above 85% full`,
      metricName: "DiskUsageUtilization",
      threshold: 85,
      statistics: "max",
      evaluationCount: 1,
      level: "critical",
    },
  ];
}

export function databaseAlarms(name: string, rdsInstanceId: string): MetricAlarm[] {
  const common = {
    namespace: "VCM_RDS_PostgreSQL",
    subNamespace: "resource_monitor",
    metricUnit: "Percent",
    comparison: ">" as const,
    resourceId: rdsInstanceId,
  };
  return [
    {
      ...common,
      id: "db-cpu",
      description: `CPU of the ${name} database above 80% for 5 minutes`,
      metricName: "CpuUtil",
      threshold: 80,
      statistics: "avg",
      evaluationCount: 5,
      level: "warning",
    },
    {
      ...common,
      id: "db-storage",
      description: `Storage of the ${name} database above 85% full`,
      metricName: "DiskUtil",
      threshold: 85,
      statistics: "max",
      evaluationCount: 1,
      level: "critical",
    },
  ];
}

export interface AlarmsConfig {
  /** Prefix of resource names, e.g. "todo-api-dev". */
  name: string;
  region: string;
  email: string;
  webhook?: string;
  alarms: readonly MetricAlarm[];
  tags: Readonly<Record<string, string>>;
}

/**
 * CloudMonitor alarms of an environment: a contact (the alert e-mail) in a contact group of the
 * environment, and one rule per metric alarm notifying that group by e-mail (and the webhook if
 * configured), again when the alarm recovers. Rules are active around the clock.
 */
export class Alarms extends Construct {
  readonly contactGroupId: string;

  constructor(scope: Construct, id: string, config: AlarmsConfig) {
    super(scope, id);
    const contact = new CloudMonitorContact(this, "contact", {
      name: `${config.name}-oncall`,
      email: config.email,
    });
    const group = new CloudMonitorContactGroup(this, "contact-group", {
      name: `${config.name}-alerts`,
      description: `Receives the alarms of ${config.name}`,
      contactsIdList: [contact.id],
    });
    this.contactGroupId = group.id;

    for (const alarm of config.alarms) {
      new CloudMonitorRule(this, `rule-${alarm.id}`, {
        ruleName: `${config.name}-${alarm.id}`,
        description: alarm.description,
        namespace: alarm.namespace,
        subNamespace: alarm.subNamespace,
        regions: [config.region],
        level: alarm.level,
        enableState: "enable",
        effectStartAt: "00:00",
        effectEndAt: "23:59",
        evaluationCount: alarm.evaluationCount,
        // Minutes between repeated notifications while the alarm stays on.
        silenceTime: 30,
        alertMethods: config.webhook ? ["Email", "Webhook"] : ["Email"],
        contactGroupIds: [group.id],
        webHook: config.webhook,
        conditions: [
          {
            metricName: alarm.metricName,
            metricUnit: alarm.metricUnit,
            statistics: alarm.statistics,
            comparisonOperator: alarm.comparison,
            threshold: String(alarm.threshold),
          },
        ],
        originalDimensions: [{ key: "ResourceID", value: [alarm.resourceId] }],
        recoveryNotify: { enable: true },
        tags: tagBlocks(config.tags),
      });
    }
  }
}
