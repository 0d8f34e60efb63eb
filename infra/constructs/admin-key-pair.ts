import { Construct } from "constructs";
import { EcsKeyPair } from "../../.gen/providers/volcengine/ecs-key-pair/index.js";
import { apiDescription } from "./description.js";

export interface AdminKeyPairProps {
  /** Prefix of every resource name, e.g. "todo-api-dev" (`<project>-<environment>`). */
  readonly name: string;
  /** OpenSSH public key line (later changes are ignored: the servers keep the key they were created with). */
  readonly publicKey: string;
}

/** The admin's SSH public key imported once, for every server of the environment. */
export class AdminKeyPair extends Construct {
  readonly keyPairName: string;

  constructor(scope: Construct, id: string, props: AdminKeyPairProps) {
    super(scope, id);
    const keyPair = new EcsKeyPair(this, "key-pair", {
      // Not "<name>-key" (the single topology's): switching topologies creates this one while
      // the other still exists, and key pair names are unique.
      keyPairName: `${props.name}-admin-key`,
      publicKey: props.publicKey,
      description: apiDescription("Admin key imported by the Todo API stack"),
      // public_key is ForceNew, and the servers keep the key they were created with whatever
      // happens to the key pair: a different key (new laptop) must not delete and re-import the
      // pair. Rotating the admin key is a documented manual step (docs/deploy.md).
      // project_name is Optional but not Computed in the provider, which stores whatever
      // DescribeKeyPairs returns: if that is "default", the next plan would set it back to null
      // and the update fails ("Could set ProjectName to empty"). Never set here, never compared.
      lifecycle: { ignoreChanges: ["public_key", "project_name"] },
    });
    this.keyPairName = keyPair.keyPairName;
  }
}
