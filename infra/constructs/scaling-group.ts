import path from "node:path";
import { fileURLToPath } from "node:url";
import { AssetType, type ITerraformDependable, TerraformAsset } from "cdktf";
import { Construct } from "constructs";
import { ScalingConfiguration } from "../../.gen/providers/volcengine/scaling-configuration/index.js";
import { ScalingConfigurationAttachment } from "../../.gen/providers/volcengine/scaling-configuration-attachment/index.js";
import { ScalingGroup as VolcScalingGroup } from "../../.gen/providers/volcengine/scaling-group/index.js";
import { ScalingGroupEnabler } from "../../.gen/providers/volcengine/scaling-group-enabler/index.js";
import { ScalingLifecycleHook } from "../../.gen/providers/volcengine/scaling-lifecycle-hook/index.js";
import { apiDescription } from "./description.js";
import { FLEET_TAG } from "./fleet-iam.js";
import { tagBlocks } from "./tags.js";
import { BACKEND_PORT } from "./load-balancer.js";
import { TerraformData } from "./terraform-data.js";
import { encodeUserData } from "./user-data.js";

export interface ScalingGroupProps {
  /** Prefix of every resource name, e.g. "todo-api-dev"; the group is `<name>-fleet`. */
  readonly name: string;
  /** Both app subnets: the group spreads its servers over their zones. */
  readonly subnetIds: readonly string[];
  /** The app servers' security group. */
  readonly securityGroupId: string;
  /** The admin key pair (the same as the fixed servers'). */
  readonly keyPairName: string;
  /** The image the fixed servers were created from. */
  readonly imageId: string;
  /** ECS instance type of the group's servers. */
  readonly instanceType: string;
  /** System disk, as the fixed servers'. */
  readonly systemDisk: { readonly type: string; readonly sizeGb: number };
  /** Rendered cloud-config (no secrets) of every server the group starts. */
  readonly cloudConfig: string;
  /** The load balancer's server group: the group adds its servers on port 80. */
  readonly serverGroupId: string;
  /** Fewest servers. */
  readonly minServers: number;
  /** Most servers. */
  readonly maxServers: number;
  /** Servers now. */
  readonly desiredServers: number;
  /**
   * Seconds after a scaling activity before the next may start.
   * @default 300
   */
  readonly cooldownSeconds?: number;
  /**
   * Which server goes first on scale-in.
   * @default "OldestInstance"
   */
  readonly terminatePolicy?: "OldestInstance" | "NewestInstance" | "OldestScalingConfigurationWithOldestInstance";
  /**
   * How long the SCALE_OUT hook holds a new server for the seed; its timeout rejects it.
   * @default 900
   */
  readonly scaleOutHookSeconds?: number;
  /**
   * How long the SCALE_IN hook holds a leaving server (requests on it finish); then it goes.
   * @default 60
   */
  readonly scaleInHookSeconds?: number;
  /**
   * What must exist before the group is enabled and starts servers (the first `fleet/current`).
   * @default - nothing beyond the group's own parts
   */
  readonly enableAfter?: ITerraformDependable[];
  /** Region of the environment (the destroy-time drain calls Auto Scaling there). */
  readonly region: string;
  /** Tags of the group and of every server it starts (plus `todo-fleet = <name>`, fleet-iam.ts). */
  readonly tags: Readonly<Record<string, string>>;
}

/** The group's name (a Terraform output, and how the seed's policy and the docs name it). */
export function scalingGroupName(name: string): string {
  return `${name}-fleet`;
}

/** Seconds the destroy-time drain waits for the group to release its servers. */
export const DRAIN_TIMEOUT_SECONDS = 1200;

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * A Volcengine Auto Scaling group behind the cluster's load balancer (docs/auto-scaling.md): the
 * group over both app subnets (BALANCE), its configuration (the fixed servers' image, key pair,
 * security group and disk; user data that joins the fleet), the attachment that makes the
 * configuration active, a SCALE_OUT hook that holds each new server until the seed admits it
 * (REJECT on timeout) and a SCALE_IN hook that lets requests finish (CONTINUE), and the enabler,
 * last, so the first servers start with the hooks in place and after `enableAfter`.
 *
 * A destroy empties the group first (`drain`): whether DeleteScalingGroup releases a group's
 * servers or refuses until it is empty is not documented, and the provider retries a refusal for
 * 15 minutes and fails. The drain depends on the enabler, so it runs while the group is enabled.
 */
export class ScalingGroup extends Construct {
  readonly groupId: string;
  readonly groupName: string;
  readonly group: VolcScalingGroup;
  readonly configuration: ScalingConfiguration;
  readonly enabler: ScalingGroupEnabler;
  readonly drain: TerraformData;

  constructor(scope: Construct, id: string, props: ScalingGroupProps) {
    super(scope, id);
    const groupName = scalingGroupName(props.name);
    const group = new VolcScalingGroup(this, "group", {
      scalingGroupName: groupName,
      subnetIds: [...props.subnetIds],
      multiAzPolicy: "BALANCE",
      minInstanceNumber: props.minServers,
      maxInstanceNumber: props.maxServers,
      desireInstanceNumber: props.desiredServers,
      defaultCooldown: props.cooldownSeconds ?? 300,
      instanceTerminatePolicy: props.terminatePolicy ?? "OldestInstance",
      serverGroupAttributes: [{ serverGroupId: props.serverGroupId, port: BACKEND_PORT, weight: 100 }],
      tags: tagBlocks(props.tags),
    });
    const configuration = new ScalingConfiguration(this, "configuration", {
      scalingGroupId: group.id,
      scalingConfigurationName: groupName,
      instanceName: groupName,
      hostName: groupName,
      instanceDescription: apiDescription(`Todo API app server of ${props.name}, started by its scaling group`),
      imageId: props.imageId,
      instanceTypes: [props.instanceType],
      securityGroupIds: [props.securityGroupId],
      keyPairName: props.keyPairName,
      // Base64 computed at synth, as the fixed servers' (the provider passes it as it is).
      userData: encodeUserData(props.cloudConfig, `${groupName} (scaling configuration)`),
      volumes: [{ volumeType: props.systemDisk.type, size: props.systemDisk.sizeGb, deleteWithInstance: true }],
      // The seed may give the app servers' role only to servers with this tag (fleet-iam.ts).
      tags: tagBlocks({ ...props.tags, [FLEET_TAG]: props.name }),
    });
    const attachment = new ScalingConfigurationAttachment(this, "configuration-attachment", {
      scalingConfigurationId: configuration.id,
    });
    const scaleOut = new ScalingLifecycleHook(this, "scale-out-hook", {
      scalingGroupId: group.id,
      lifecycleHookName: "wait-for-release",
      lifecycleHookType: "SCALE_OUT",
      lifecycleHookPolicy: "REJECT",
      lifecycleHookTimeout: props.scaleOutHookSeconds ?? 900,
    });
    const scaleIn = new ScalingLifecycleHook(this, "scale-in-hook", {
      scalingGroupId: group.id,
      lifecycleHookName: "finish-requests",
      lifecycleHookType: "SCALE_IN",
      lifecycleHookPolicy: "CONTINUE",
      lifecycleHookTimeout: props.scaleInHookSeconds ?? 60,
    });
    const enabler = new ScalingGroupEnabler(this, "enabler", {
      scalingGroupId: group.id,
      dependsOn: [attachment, scaleOut, scaleIn, ...(props.enableAfter ?? [])],
    });

    // Files Terraform runs at destroy, copied into the synthesized stack (relative paths).
    const drainScript = new TerraformAsset(this, "drain-script", {
      path: path.join(here, "scaling-drain.mjs"),
      type: AssetType.FILE,
    });
    const openApiClient = new TerraformAsset(this, "openapi-client", {
      path: path.join(here, "../../cloud-init/lib/volc-openapi.mjs"),
      type: AssetType.FILE,
    });
    this.drain = new TerraformData(this, "drain", {
      input: { group_id: group.id, region: props.region },
      dependsOn: [enabler],
      provisioners: [
        {
          type: "local-exec",
          when: "destroy",
          command: `node ${drainScript.path} ${openApiClient.path} \${self.input.group_id} \${self.input.region} ${DRAIN_TIMEOUT_SECONDS}`,
        },
      ],
    });

    this.groupId = group.id;
    this.groupName = groupName;
    this.group = group;
    this.configuration = configuration;
    this.enabler = enabler;
  }
}
