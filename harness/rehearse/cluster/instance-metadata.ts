import { createHash, randomBytes } from "node:crypto";
import {
  type Credentials,
  type MetadataStandIn,
  startMetadataStandIn,
} from "../../../local-cloud/services/ecs/metadata.js";
import { run } from "../shell.js";

/**
 * The ECS metadata service, per instance: every server asks http://100.96.0.96 (the kit's default)
 * and gets the credentials of the role ITS instance holds, none while it holds none. Each private
 * address gets a metadata stand-in of its own (local-cloud/services/ecs/metadata.ts, tokens
 * enforced) on the host's end of the VPC's uplink, and the VPC's router sends that address's
 * requests for 100.96.0.96:80 there (a DNAT rule keyed by source address, in the "vpc"
 * namespace); the server sees 100.96.0.96 answer, as on ECS.
 *
 * Which role an address holds is asked at each request (`roleAt`): for a fixed server it is the
 * stack's role attachment; for a scaled-out one, whatever the stand-in's ECS says the instance
 * now at that address holds (the seed associates it while the hook holds the instance). A
 * released instance's address answers for the next instance ECS puts there.
 *
 * Credentials are per role, made up for this run, stable for the run: the S3 stand-in verifies
 * every signature with the credentials of the role whose access key the request names.
 */
export const METADATA_ADDRESS = "100.96.0.96";

export class InstanceMetadata {
  private readonly byAddress = new Map<string, MetadataStandIn>();
  private readonly roleCreds = new Map<string, Credentials>();

  constructor(
    /** Where the stand-ins listen (the host's end of the uplink) and the namespace that routes to them. */
    private readonly opts: { host: string; vpcNamespace?: string },
  ) {}

  /** The run's credentials of `role` (made on first use). */
  credentials(role: string): Credentials {
    let c = this.roleCreds.get(role);
    if (!c) {
      const tag = createHash("sha256").update(role).digest("hex").slice(0, 8).toUpperCase();
      c = {
        AccessKeyId: `AKTP${tag}${randomBytes(6).toString("hex").toUpperCase()}`,
        SecretAccessKey: randomBytes(24).toString("base64url"),
        SessionToken: randomBytes(32).toString("base64url"),
      };
      this.roleCreds.set(role, c);
    }
    return c;
  }

  /** Every role's credentials handed out so far (what the S3 stand-in accepts). */
  allCredentials(): Credentials[] {
    return [...this.roleCreds.values()];
  }

  /** Which role an access key belongs to (for the scenario's log of who read and wrote). */
  roleOfKey(accessKeyId: string): string | undefined {
    for (const [role, c] of this.roleCreds) if (c.AccessKeyId === accessKeyId) return role;
    return undefined;
  }

  /** The metadata service of the server at `address`; `roleAt` says what it holds now. */
  async serve(address: string, roleAt: () => string | undefined): Promise<MetadataStandIn> {
    const existing = this.byAddress.get(address);
    if (existing) return existing;
    const standIn = await startMetadataStandIn(roleAt, (role) => this.credentials(role), {
      tokens: "enforced",
      host: this.opts.host,
    });
    this.byAddress.set(address, standIn);
    if (this.opts.vpcNamespace) {
      const port = new URL(standIn.url).port;
      await run("ip", ["netns", "exec", this.opts.vpcNamespace, "nft", "-f", "-"], {
        input: `add rule ip vpc prerouting ip saddr ${address} ip daddr ${METADATA_ADDRESS} tcp dport 80 dnat to ${this.opts.host}:${port}\n`,
      });
    }
    return standIn;
  }

  /** The stand-in of an address (its request log shows when the server asked). */
  at(address: string): MetadataStandIn | undefined {
    return this.byAddress.get(address);
  }

  async close(): Promise<void> {
    await Promise.all([...this.byAddress.values()].map((m) => m.close()));
    this.byAddress.clear();
  }
}
