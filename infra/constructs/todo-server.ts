import { Construct } from "constructs";
import { EcsInstance } from "../../.gen/providers/volcengine/ecs-instance/index.js";
import { EcsKeyPair } from "../../.gen/providers/volcengine/ecs-key-pair/index.js";
import type { EipAssociate } from "../../.gen/providers/volcengine/eip-associate/index.js";
import { ElasticIp, type EipSettings } from "./elastic-ip.js";
import { ServerImage, type ServerImageChoice } from "./server-image.js";
import { tagBlocks } from "./tags.js";
import { encodeUserData } from "./user-data.js";
import { apiDescription } from "./description.js";

export interface TodoServerConfig {
  /** Prefix of resource names, e.g. "todo-api-dev". */
  name: string;
  zone: string;
  instanceType: string;
  image: ServerImageChoice;
  systemDisk: { type: string; sizeGb: number };
  subnetId: string;
  securityGroupId: string;
  /** OpenSSH public key line imported as the server's key pair. */
  sshPublicKey: string;
  /** Rendered cloud-config text (no secrets); encoded here. */
  cloudConfig: string;
  eip: EipSettings;
  tags: Readonly<Record<string, string>>;
}

/**
 * The machine the API runs on: imported key pair, pay-as-you-go ECS instance with an ESSD system
 * disk set up by cloud-init, and an elastic IP attached to it.
 */
export class TodoServer extends Construct {
  readonly instanceId: string;
  readonly publicIp: string;
  readonly privateIp: string;
  /** The EIP association: whatever needs the public IP to answer waits on it. */
  readonly eipAssociation: EipAssociate;

  constructor(scope: Construct, id: string, config: TodoServerConfig) {
    super(scope, id);
    const tags = tagBlocks(config.tags);
    const userData = encodeUserData(config.cloudConfig, config.name);
    const image = new ServerImage(this, "image", { image: config.image, instanceType: config.instanceType });

    const keyPair = new EcsKeyPair(this, "key-pair", {
      keyPairName: `${config.name}-key`,
      publicKey: config.sshPublicKey,
      description: apiDescription("Admin key imported by the Todo API stack"),
      // public_key is ForceNew, and the servers keep the key they were created with whatever
      // happens to the key pair: a different key (new laptop) must not delete and re-import the
      // pair. Rotating the admin key is a documented manual step (docs/deploy.md).
      lifecycle: { ignoreChanges: ["public_key"] },
    });

    const instance = new EcsInstance(this, "instance", {
      instanceName: `${config.name}-server`,
      hostName: config.name,
      description: apiDescription(`Todo API server of ${config.name}`),
      zoneId: config.zone,
      instanceType: config.instanceType,
      imageId: image.imageId,
      instanceChargeType: "PostPaid",
      subnetId: config.subnetId,
      securityGroupIds: [config.securityGroupId],
      systemVolumeType: config.systemDisk.type,
      systemVolumeSize: config.systemDisk.sizeGb,
      keyPairName: keyPair.keyPairName,
      userData,
      tags,
      lifecycle: {
        // A newer public image appearing later must never rebuild the server.
        // user_data is only the first boot (cloud-init runs it once per instance, and the provider would
        // try to modify it in place on a running server, which ECS accepts only on a stopped one): every
        // later change of the server's settings reaches it through the deploy step (AppDeployment).
        ignoreChanges: ["image_id", "user_data"],
        precondition: image.found
          ? [
              {
                condition: image.found,
                errorMessage: `No public ${image.description} image supporting cloud-init was found for ${config.instanceType} in ${config.zone}. Set "image": { "id": "image-..." } in stack.config.json (or TODO_IMAGE_ID).`,
              },
            ]
          : undefined,
      },
    });

    const eip = new ElasticIp(this, "eip", {
      name: `${config.name}-eip`,
      description: `Public IP of the Todo API server of ${config.name}`,
      eip: config.eip,
      attachTo: { id: instance.id, type: "EcsInstance" },
      tags: config.tags,
    });
    this.eipAssociation = eip.association;

    this.instanceId = instance.id;
    this.publicIp = eip.address;
    this.privateIp = instance.primaryIpAddress;
  }
}
