import { Construct } from "constructs";
import { EcsInstance } from "../../.gen/providers/volcengine/ecs-instance/index.js";
import type { EipAssociate } from "../../.gen/providers/volcengine/eip-associate/index.js";
import { ElasticIp, type EipSettings } from "./elastic-ip.js";
import { ServerImage, type ServerImageChoice } from "./server-image.js";
import { tagBlocks } from "./tags.js";
import { apiDescription } from "./description.js";

export interface BastionConfig {
  name: string;
  zone: string;
  subnetId: string;
  /** Its own security group: SSH from the admin CIDRs only. */
  securityGroupId: string;
  instanceType: string;
  image: ServerImageChoice;
  keyPairName: string;
  eip: EipSettings;
  tags: Readonly<Record<string, string>>;
}

/**
 * The one host of the cluster you can SSH to from outside: a small pay-as-you-go ECS instance with
 * an elastic IP, no software of its own (no user data), used as a jump host to the app servers
 * (`ssh -J`) and by the deploy step (Terraform's `bastion_host`).
 */
export class Bastion extends Construct {
  readonly instanceId: string;
  readonly publicIp: string;
  readonly privateIp: string;
  /** Whatever SSHes through the bastion waits on this. */
  readonly eipAssociation: EipAssociate;

  constructor(scope: Construct, id: string, config: BastionConfig) {
    super(scope, id);
    const tags = tagBlocks(config.tags);
    const image = new ServerImage(this, "image", { image: config.image, instanceType: config.instanceType });
    const instance = new EcsInstance(this, "instance", {
      instanceName: `${config.name}-bastion`,
      hostName: `${config.name}-bastion`,
      description: apiDescription(`SSH jump host of the Todo API cluster ${config.name}`),
      zoneId: config.zone,
      instanceType: config.instanceType,
      imageId: image.imageId,
      instanceChargeType: "PostPaid",
      subnetId: config.subnetId,
      securityGroupIds: [config.securityGroupId],
      systemVolumeType: "ESSD_PL0",
      systemVolumeSize: 20,
      keyPairName: config.keyPairName,
      tags,
      lifecycle: {
        ignoreChanges: ["image_id"],
        precondition: image.found
          ? [
              {
                condition: image.found,
                errorMessage: `No public ${image.description} image supporting cloud-init was found for the bastion's instance type ${config.instanceType}. Set "image": { "id": "image-..." } or cluster.bastion.instanceType.`,
              },
            ]
          : undefined,
      },
    });
    const eip = new ElasticIp(this, "eip", {
      name: `${config.name}-bastion-eip`,
      description: `Public IP of the Todo API bastion of ${config.name}`,
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
