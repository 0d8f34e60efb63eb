import { Construct } from "constructs";
import { TerraformLocal } from "cdktf";
import { DataVolcengineImages } from "../../.gen/providers/volcengine/data-volcengine-images/index.js";

export type ServerImageChoice = { id: string } | { platform: "Ubuntu" | "Debian"; version: string };

export interface ServerImageProps {
  /** A public image looked up by platform and version, or an explicit image id (no lookup). */
  readonly image: ServerImageChoice;
  /** Only images this instance type can boot are considered. */
  readonly instanceType: string;
}

/**
 * The OS image of the server: an explicit id, or the public cloud-init-capable image of the
 * chosen platform whose version (platform_version or name) matches. Public image names vary by
 * locale and over time, hence the prefix match and the explicit-id escape hatch.
 */
export class ServerImage extends Construct {
  readonly imageId: string;
  /** Terraform condition (an expression) that is false when the lookup found nothing. */
  readonly found?: string;
  readonly description: string;

  constructor(scope: Construct, id: string, props: ServerImageProps) {
    super(scope, id);
    const choice = props.image;
    if ("id" in choice) {
      this.imageId = choice.id;
      this.description = choice.id;
      return;
    }
    const images = new DataVolcengineImages(this, "lookup", {
      osType: "Linux",
      visibility: "public",
      platform: choice.platform,
      isSupportCloudInit: true,
      instanceTypeId: props.instanceType,
    });
    // The version only contains digits and dots (validated), so it is safe inside the quotes.
    const matching = new TerraformLocal(
      this,
      "matching-ids",
      `\${[for i in ${images.fqn}.images : i.image_id if startswith(i.platform_version, "${choice.version}") || strcontains(i.image_name, "${choice.version}")]}`,
    );
    this.imageId = `\${try(local.${matching.friendlyUniqueId}[0], "")}`;
    this.found = `\${length(local.${matching.friendlyUniqueId}) > 0}`;
    this.description = `${choice.platform} ${choice.version}`;
  }
}
