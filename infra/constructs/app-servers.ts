import { Construct } from "constructs";
import type { ITerraformDependable } from "cdktf";
import { EcsInstance } from "../../.gen/providers/volcengine/ecs-instance/index.js";
import { ServerImage, type ServerImageChoice } from "./server-image.js";
import { tagBlocks } from "./tags.js";
import { encodeUserData } from "./user-data.js";
import { apiDescription } from "./description.js";

export interface AppServersConfig {
  /** Prefix of resource names, e.g. "todo-api-prod". */
  name: string;
  count: number;
  /** Subnet (and its zone) of each server, by index; servers alternate between them. */
  placements: readonly { subnetId: string; zone: string }[];
  instanceType: string;
  image: ServerImageChoice;
  systemDisk: { type: string; sizeGb: number };
  securityGroupId: string;
  keyPairName: string;
  /** Rendered cloud-config text (no secrets) of every server. */
  cloudConfig: string;
  /**
   * The first server's cloud-config when it differs from the others' (it also runs the daily
   * export of the database to TOS); default `cloudConfig`.
   */
  firstServerCloudConfig?: string;
  /** What must exist before the servers boot (the NAT route cloud-init downloads through). */
  dependsOn?: ITerraformDependable[];
  tags: Readonly<Record<string, string>>;
}

export interface AppServerRef {
  instanceId: string;
  privateIp: string;
  zone: string;
}

/**
 * The app servers of the load-balanced topology: identical pay-as-you-go ECS instances set up by
 * the same cloud-init, spread over the zones, with NO public address: the load balancer reaches
 * them on port 80, the admin through the bastion, and they reach the Internet through NAT.
 */
export class AppServers extends Construct {
  readonly servers: readonly AppServerRef[];

  constructor(scope: Construct, id: string, config: AppServersConfig) {
    super(scope, id);
    if (config.placements.length === 0) throw new Error("AppServers: no placement (subnet) given");
    const tags = tagBlocks(config.tags);
    const userData = encodeUserData(config.cloudConfig, `${config.name} app servers`);
    const firstUserData =
      config.firstServerCloudConfig === undefined
        ? userData
        : encodeUserData(config.firstServerCloudConfig, `${config.name}-app-1`);
    const image = new ServerImage(this, "image", { image: config.image, instanceType: config.instanceType });

    this.servers = Array.from({ length: config.count }, (_, i) => {
      const placement = config.placements[i % config.placements.length]!;
      const instance = new EcsInstance(this, `server-${i + 1}`, {
        instanceName: `${config.name}-app-${i + 1}`,
        hostName: `${config.name}-app-${i + 1}`,
        description: apiDescription(`Todo API app server ${i + 1} of ${config.name}, behind the load balancer`),
        zoneId: placement.zone,
        instanceType: config.instanceType,
        imageId: image.imageId,
        instanceChargeType: "PostPaid",
        subnetId: placement.subnetId,
        securityGroupIds: [config.securityGroupId],
        systemVolumeType: config.systemDisk.type,
        systemVolumeSize: config.systemDisk.sizeGb,
        keyPairName: config.keyPairName,
        userData: i === 0 ? firstUserData : userData,
        tags,
        dependsOn: config.dependsOn,
        lifecycle: {
          // A newer public image appearing later must never rebuild the servers.
          // user_data is only the first boot (cloud-init runs it once per instance, and the provider would
          // try to modify it in place on a running server, which ECS accepts only on a stopped one): every
          // later change of the server's settings reaches it through the deploy step (AppDeployment).
          ignoreChanges: ["image_id", "user_data"],
          precondition: image.found
            ? [
                {
                  condition: image.found,
                  errorMessage: `No public ${image.description} image supporting cloud-init was found for ${config.instanceType}. Set "image": { "id": "image-..." } in stack.config.json (or TODO_IMAGE_ID).`,
                },
              ]
            : undefined,
        },
      });
      return { instanceId: instance.id, privateIp: instance.primaryIpAddress, zone: placement.zone };
    });
  }
}
