import { Construct } from "constructs";
import { EcsKeyPair } from "../../.gen/providers/volcengine/ecs-key-pair";

/** The admin's SSH public key imported once, for every server of the environment. */
export class AdminKeyPair extends Construct {
  readonly keyPairName: string;

  constructor(scope: Construct, id: string, config: { name: string; publicKey: string }) {
    super(scope, id);
    const keyPair = new EcsKeyPair(this, "key-pair", {
      // Not "<name>-key" (the single topology's): switching topologies creates this one while
      // the other still exists, and key pair names are unique.
      keyPairName: `${config.name}-admin-key`,
      publicKey: config.publicKey,
      description: "Admin key imported by the Todo API stack",
    });
    this.keyPairName = keyPair.keyPairName;
  }
}
