import { Construct } from "constructs";
import { EcsInstance } from "../../.gen/providers/volcengine/ecs-instance/index.js";
import type { EipAssociate } from "../../.gen/providers/volcengine/eip-associate/index.js";
import { ElasticIp, INSTANCE_EIP_BLOCK, type EipSettings } from "./elastic-ip.js";
import { ServerImage, type ServerImageChoice } from "./server-image.js";
import { tagBlocks } from "./tags.js";
import { apiDescription } from "./description.js";

export interface BastionProps {
  /** Prefix of every resource name, e.g. "todo-api-dev" (`<project>-<environment>`). */
  readonly name: string;
  /** Zone of the bastion (the first zone). */
  readonly zone: string;
  /** Subnet of the bastion (the first app subnet). */
  readonly subnetId: string;
  /** Its own security group: SSH from the admin CIDRs only. */
  readonly securityGroupId: string;
  /** ECS instance type of the bastion. */
  readonly instanceType: string;
  /** A public image looked up by platform and version, or an explicit image id. */
  readonly image: ServerImageChoice;
  /** The admin key pair. */
  readonly keyPairName: string;
  /** Billing of the bastion's elastic IP. */
  readonly eip: EipSettings;
  /** Tags put on every taggable resource (the stack adds managed-by, app and environment). */
  readonly tags: Readonly<Record<string, string>>;
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

  constructor(scope: Construct, id: string, props: BastionProps) {
    super(scope, id);
    const tags = tagBlocks(props.tags);
    const image = new ServerImage(this, "image", { image: props.image, instanceType: props.instanceType });
    const instance = new EcsInstance(this, "instance", {
      instanceName: `${props.name}-bastion`,
      hostName: `${props.name}-bastion`,
      description: apiDescription(`SSH jump host of the Todo API cluster ${props.name}`),
      zoneId: props.zone,
      instanceType: props.instanceType,
      imageId: image.imageId,
      instanceChargeType: "PostPaid",
      subnetId: props.subnetId,
      securityGroupIds: [props.securityGroupId],
      systemVolumeType: "ESSD_PL0",
      systemVolumeSize: 20,
      keyPairName: props.keyPairName,
      tags,
      lifecycle: {
        ignoreChanges: ["image_id", INSTANCE_EIP_BLOCK],
        precondition: image.found
          ? [
              {
                condition: image.found,
                errorMessage: `No public ${image.description} image supporting cloud-init was found for the bastion's instance type ${props.instanceType}. Set "image": { "id": "image-..." } or cluster.bastion.instanceType.`,
              },
            ]
          : undefined,
      },
    });
    const eip = new ElasticIp(this, "eip", {
      name: `${props.name}-bastion-eip`,
      description: `Public IP of the Todo API bastion of ${props.name}`,
      eip: props.eip,
      attachTo: { id: instance.id, type: "EcsInstance" },
      tags: props.tags,
    });
    this.eipAssociation = eip.association;
    this.instanceId = instance.id;
    this.publicIp = eip.address;
    this.privateIp = instance.primaryIpAddress;
  }
}
