import { Lazy, TerraformOutput, type TerraformStack } from "cdktf";
import type { CloudInitOptions } from "../../cloud-init/options.js";
import { renderCloudInit } from "../../cloud-init/render.js";
import type { ResolvedEnvironment } from "../config/schema.js";
import type { AppServers } from "../constructs/app-servers.js";
import type { BackupBucket } from "../constructs/backup-bucket.js";
import type { ClusterNetwork } from "../constructs/cluster-network.js";
import { FleetAccess, fleetRoleName } from "../constructs/fleet-iam.js";
import { FleetPointer } from "../constructs/fleet-pointer.js";
import type { FilesBucket } from "../constructs/files-bucket.js";
import { filesRoleName } from "../constructs/files-policy.js";
import type { LateHostSetting } from "../constructs/app-deployment.js";
import type { RollingDeployment } from "../constructs/rolling-deployment.js";
import { ScalingGroup } from "../constructs/scaling-group.js";
import type { OffsiteBackupTarget } from "./server-cloud-init.js";

/**
 * `cluster.autoScaling` (docs/auto-scaling.md): what the option adds to a cluster, and nothing it
 * changes. The fixed servers' user data stays as it is; the first server's deploy step gets the
 * seed and the publisher in its host settings only; a step after the rollout moves `fleet/current`;
 * the scaling group boots its servers from the other servers' user data plus `fleet.member`.
 */

export type AutoScalingSettings = NonNullable<ResolvedEnvironment["cluster"]["autoScaling"]>;

/** Volcengine's OpenAPI (Auto Scaling, ECS): where the seed calls. */
export const OPENAPI_ENDPOINT = "https://open.volcengineapi.com";

/**
 * The scaling group's id stands in the first server's options as this literal (the options accept
 * it; the id is a Terraform value known at apply) and is replaced by the id in the deploy step.
 */
export const SEED_GROUP_PLACEHOLDER = "scg-stack-scaling-group-id";

export interface FleetPlan {
  /** What the first fixed server's deploy step writes (never its user data). */
  readonly firstServerDeploy: CloudInitOptions;
  /** The first server's late host setting (the group id), once the group exists. */
  readonly lateHostSettings: (groupId: string) => LateHostSetting[];
  /** The group's servers' user data options. */
  readonly member: CloudInitOptions;
  /** The role the seed gives the group's servers. */
  readonly memberRoleName: string;
}

export function fleetPlan(
  env: ResolvedEnvironment,
  name: string,
  cloudInit: { firstServer: CloudInitOptions & { offsiteBackup: OffsiteBackupTarget }; otherServers: CloudInitOptions },
): FleetPlan {
  const target = cloudInit.firstServer.offsiteBackup;
  // The files role when files are on (one role per instance, and the group's servers sign
  // attachments like servers 2..n), else a role of its own.
  const memberRoleName = env.files ? filesRoleName(name) : fleetRoleName(name);
  const bucket = { bucket: target.bucket, region: target.region, endpoint: target.endpoint };
  return {
    firstServerDeploy: {
      ...cloudInit.firstServer,
      seed: {
        groupId: SEED_GROUP_PLACEHOLDER,
        appRoleName: memberRoleName,
        region: env.region,
        endpoint: OPENAPI_ENDPOINT,
      },
      fleet: { ...bucket, member: false },
    },
    lateHostSettings: (groupId) => [{ placeholder: SEED_GROUP_PLACEHOLDER, value: groupId, trigger: "seed_group_id" }],
    member: { ...cloudInit.otherServers, fleet: { ...bucket, member: true, roleName: memberRoleName } },
    memberRoleName,
  };
}

/** The group's id before the group is built (the rollout is composed before the load balancer). */
export function lateGroupId(get: () => ScalingGroup | undefined): string {
  return Lazy.stringValue({
    produce: () => {
      const group = get();
      if (!group) throw new Error("autoScaling: the scaling group was never composed");
      return group.groupId;
    },
  });
}

export interface AutoScalingProps {
  readonly name: string;
  readonly environment: ResolvedEnvironment;
  readonly settings: AutoScalingSettings;
  readonly plan: FleetPlan;
  readonly network: ClusterNetwork;
  readonly servers: AppServers;
  readonly keyPairName: string;
  readonly serverGroupId: string;
  readonly bastionHost: string;
  readonly rollout: RollingDeployment;
  readonly backups: BackupBucket;
  readonly files?: FilesBucket;
  readonly tags: Readonly<Record<string, string>>;
}

export function composeAutoScaling(stack: TerraformStack, props: AutoScalingProps): ScalingGroup {
  const { name, environment: env, settings, plan } = props;
  const first = props.servers.servers[0]!;
  const pointer = new FleetPointer(stack, "fleet-pointer", {
    host: first.privateIp,
    bastionHost: props.bastionHost,
    sshUser: env.ssh.user,
    sshPrivateKeyPath: env.ssh.privateKeyPath,
    triggers: props.rollout.steps[0]!.triggers,
    after: [props.rollout.steps.at(-1)!.resource],
  });
  let group: ScalingGroup | undefined;
  const access = new FleetAccess(stack, "fleet-access", {
    name,
    region: env.region,
    groupId: lateGroupId(() => group),
    bucketName: props.backups.bucketName,
    seedRole: props.backups.role,
    ...(props.files?.role ? { memberRole: props.files.role, memberRoleName: plan.memberRoleName } : {}),
    tags: props.tags,
  });
  group = new ScalingGroup(stack, "scaling", {
    name,
    region: env.region,
    subnetIds: props.network.appSubnetIds,
    securityGroupId: props.network.appSecurityGroupId,
    keyPairName: props.keyPairName,
    imageId: props.servers.imageId,
    instanceType: settings.instanceType ?? env.instanceType,
    systemDisk: env.systemDisk,
    cloudConfig: renderCloudInit(plan.member),
    serverGroupId: props.serverGroupId,
    minServers: settings.minServers,
    maxServers: settings.maxServers,
    desiredServers: settings.desiredServers ?? settings.minServers,
    // The first servers find a release, their role's read policy, and the seed its calls.
    enableAfter: [pointer.resource, ...access.ready],
    tags: props.tags,
  });
  new TerraformOutput(stack, "scaling_group_id", {
    value: group.groupId,
    description: "The Auto Scaling group of the servers on top of the fixed ones (docs/auto-scaling.md)",
  });
  new TerraformOutput(stack, "scaling_group_name", { value: group.groupName, description: "Its name" });
  return group;
}
