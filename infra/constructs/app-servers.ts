import { Construct } from "constructs";
import type { ITerraformDependable } from "cdktf";
import { EcsInstance } from "../../.gen/providers/volcengine/ecs-instance/index.js";
import { INSTANCE_EIP_BLOCK } from "./elastic-ip.js";
import { ServerImage, type ServerImageChoice } from "./server-image.js";
import { tagBlocks } from "./tags.js";
import { encodeUserData } from "./user-data.js";
import { apiDescription } from "./description.js";

export interface AppServersProps {
  /** Prefix of every resource name, e.g. "todo-api-dev" (`<project>-<environment>`). */
  readonly name: string;
  /** How many app servers. */
  readonly count: number;
  /** Subnet (and its zone) of each server, by index; servers alternate between them. */
  readonly placements: readonly { readonly subnetId: string; readonly zone: string }[];
  /** ECS instance type of every app server. */
  readonly instanceType: string;
  /** A public image looked up by platform and version, or an explicit image id. */
  readonly image: ServerImageChoice;
  /** System disk: ESSD type and size in GB (extended in place when it grows). */
  readonly systemDisk: { readonly type: string; readonly sizeGb: number };
  /** Security group of the app servers. */
  readonly securityGroupId: string;
  /** The admin key pair every server is created with. */
  readonly keyPairName: string;
  /** Rendered cloud-config text (no secrets) of every server. */
  readonly cloudConfig: string;
  /**
   * The first server's cloud-config when it differs from the others' (it also runs the daily
   * export of the database to TOS).
   * @default - `cloudConfig`
   */
  readonly firstServerCloudConfig?: string;
  /**
   * What must exist before the servers boot (the NAT route cloud-init downloads through).
   * @default - nothing
   */
  readonly dependsOn?: ITerraformDependable[];
  /** Tags put on every taggable resource (the stack adds managed-by, app and environment). */
  readonly tags: Readonly<Record<string, string>>;
}

export interface AppServerRef {
  readonly instanceId: string;
  readonly privateIp: string;
  readonly zone: string;
}

/**
 * The app servers of the load-balanced topology: identical pay-as-you-go ECS instances set up by
 * the same cloud-init, spread over the zones, with NO public address: the load balancer reaches
 * them on port 80, the admin through the bastion, and they reach the Internet through NAT.
 */
export class AppServers extends Construct {
  readonly servers: readonly AppServerRef[];
  /** The image every server was created from (a scaling group's servers use the same). */
  readonly imageId: string;

  constructor(scope: Construct, id: string, props: AppServersProps) {
    super(scope, id);
    if (props.placements.length === 0) throw new Error("AppServers: no placement (subnet) given");
    const tags = tagBlocks(props.tags);
    const userData = encodeUserData(props.cloudConfig, `${props.name} app servers`);
    const firstUserData =
      props.firstServerCloudConfig === undefined
        ? userData
        : encodeUserData(props.firstServerCloudConfig, `${props.name}-app-1`);
    const image = new ServerImage(this, "image", { image: props.image, instanceType: props.instanceType });
    this.imageId = image.imageId;

    this.servers = Array.from({ length: props.count }, (_, i) => {
      const placement = props.placements[i % props.placements.length]!;
      const instance = new EcsInstance(this, `server-${i + 1}`, {
        instanceName: `${props.name}-app-${i + 1}`,
        hostName: `${props.name}-app-${i + 1}`,
        description: apiDescription(`Todo API app server ${i + 1} of ${props.name}, behind the load balancer`),
        zoneId: placement.zone,
        instanceType: props.instanceType,
        imageId: image.imageId,
        instanceChargeType: "PostPaid",
        subnetId: placement.subnetId,
        securityGroupIds: [props.securityGroupId],
        systemVolumeType: props.systemDisk.type,
        systemVolumeSize: props.systemDisk.sizeGb,
        keyPairName: props.keyPairName,
        userData: i === 0 ? firstUserData : userData,
        tags,
        dependsOn: props.dependsOn,
        lifecycle: {
          // A newer public image appearing later must never rebuild the servers.
          // user_data is only the first boot (cloud-init runs it once per instance, and the provider would
          // try to modify it in place on a running server, which ECS accepts only on a stopped one): every
          // later change of the server's settings reaches it through the deploy step (AppDeployment).
          ignoreChanges: ["image_id", "user_data", INSTANCE_EIP_BLOCK],
          precondition: image.found
            ? [
                {
                  condition: image.found,
                  errorMessage: `No public ${image.description} image supporting cloud-init was found for ${props.instanceType}. Set "image": { "id": "image-..." } in stack.config.json (or TODO_IMAGE_ID).`,
                },
              ]
            : undefined,
        },
      });
      return { instanceId: instance.id, privateIp: instance.primaryIpAddress, zone: placement.zone };
    });
  }
}
