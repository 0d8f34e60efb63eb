import { Construct } from "constructs";
import { EcsInstance } from "../../.gen/providers/volcengine/ecs-instance/index.js";
import { EcsKeyPair } from "../../.gen/providers/volcengine/ecs-key-pair/index.js";
import type { EipAssociate } from "../../.gen/providers/volcengine/eip-associate/index.js";
import { ElasticIp, INSTANCE_EIP_BLOCK, type EipSettings } from "./elastic-ip.js";
import { ServerImage, type ServerImageChoice } from "./server-image.js";
import { tagBlocks } from "./tags.js";
import { encodeUserData } from "./user-data.js";
import { apiDescription } from "./description.js";

export interface TodoServerProps {
  /** Prefix of every resource name, e.g. "todo-api-dev" (`<project>-<environment>`). */
  readonly name: string;
  /** Zone of the instance and its subnet (ForceNew: a new zone is a new server). */
  readonly zone: string;
  /** ECS instance type, e.g. "ecs.c3i.large" (changed in place: stop, resize, start). */
  readonly instanceType: string;
  /** A public image looked up by platform and version, or an explicit image id. */
  readonly image: ServerImageChoice;
  /** System disk: ESSD type and size in GB (extended in place when it grows). */
  readonly systemDisk: { readonly type: string; readonly sizeGb: number };
  /** Subnet the server sits in. */
  readonly subnetId: string;
  /** Security group of the server's network interface. */
  readonly securityGroupId: string;
  /** OpenSSH public key line imported as the server's key pair (later changes are ignored). */
  readonly sshPublicKey: string;
  /** Rendered cloud-config text (no secrets); encoded here. First boot only. */
  readonly cloudConfig: string;
  /** Billing of the server's elastic IP. */
  readonly eip: EipSettings;
  /** Tags put on every taggable resource (the stack adds managed-by, app and environment). */
  readonly tags: Readonly<Record<string, string>>;
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

  constructor(scope: Construct, id: string, props: TodoServerProps) {
    super(scope, id);
    const tags = tagBlocks(props.tags);
    const userData = encodeUserData(props.cloudConfig, props.name);
    const image = new ServerImage(this, "image", { image: props.image, instanceType: props.instanceType });

    const keyPair = new EcsKeyPair(this, "key-pair", {
      keyPairName: `${props.name}-key`,
      publicKey: props.sshPublicKey,
      description: apiDescription("Admin key imported by the Todo API stack"),
      // public_key is ForceNew, and the servers keep the key they were created with whatever
      // happens to the key pair: a different key (new laptop) must not delete and re-import the
      // pair. Rotating the admin key is a documented manual step (docs/deploy.md).
      // project_name is Optional but not Computed in the provider, which stores whatever
      // DescribeKeyPairs returns: if that is "default", the next plan would set it back to null
      // and the update fails ("Could set ProjectName to empty"). Never set here, never compared.
      lifecycle: { ignoreChanges: ["public_key", "project_name"] },
    });

    const instance = new EcsInstance(this, "instance", {
      instanceName: `${props.name}-server`,
      hostName: props.name,
      description: apiDescription(`Todo API server of ${props.name}`),
      zoneId: props.zone,
      instanceType: props.instanceType,
      imageId: image.imageId,
      instanceChargeType: "PostPaid",
      subnetId: props.subnetId,
      securityGroupIds: [props.securityGroupId],
      systemVolumeType: props.systemDisk.type,
      systemVolumeSize: props.systemDisk.sizeGb,
      keyPairName: keyPair.keyPairName,
      userData,
      tags,
      lifecycle: {
        // A newer public image appearing later must never rebuild the server.
        // user_data is only the first boot (cloud-init runs it once per instance, and the provider would
        // try to modify it in place on a running server, which ECS accepts only on a stopped one): every
        // later change of the server's settings reaches it through the deploy step (AppDeployment).
        ignoreChanges: ["image_id", "user_data", INSTANCE_EIP_BLOCK],
        precondition: image.found
          ? [
              {
                condition: image.found,
                errorMessage: `No public ${image.description} image supporting cloud-init was found for ${props.instanceType} in ${props.zone}. Set "image": { "id": "image-..." } in stack.config.json (or TODO_IMAGE_ID).`,
              },
            ]
          : undefined,
      },
    });

    const eip = new ElasticIp(this, "eip", {
      name: `${props.name}-eip`,
      description: `Public IP of the Todo API server of ${props.name}`,
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
