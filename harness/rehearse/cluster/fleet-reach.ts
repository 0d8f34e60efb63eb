import { type S3StandIn, startS3StandIn } from "../../../local-cloud/services/tos/s3-data-plane.js";
import type { StepLog } from "../steps.js";
import { FleetCloud } from "./fleet-cloud.js";
import { InstanceMetadata } from "./instance-metadata.js";
import type { Member } from "./load-balancer.js";
import { Relay } from "./relay.js";
import { WorldBooter } from "./world-booter.js";
import type { ClusterWorld } from "./world.js";

/**
 * What the servers of the cluster reach besides each other, for auto scaling: Volcengine's
 * OpenAPI (the local cloud, in this process) and TOS's S3 data plane, both on the host behind
 * relays on the uplink (reached through the NAT, as the Internet), and the ECS metadata service
 * per instance (instance-metadata.ts). `prepare` runs before the first synth, so the endpoints
 * are in the stack from the start; `startCloud` makes the stand-in from the synthesized
 * resources once the stack has them; `follow` then keeps HAProxy's server group as the local
 * cloud's server group holds it (the group adds and removes its instances there) and lets the
 * scaling engine run (fleet-cloud.ts, tick).
 */
export class FleetReach {
  fleet: FleetCloud | undefined;
  s3: S3StandIn | undefined;
  booter: WorldBooter;
  private following: ReturnType<typeof setInterval> | undefined;
  private busy = false;
  private lastMembers = "";
  /** Every server-group change the loop applied, with its time (the scenario reads the order). */
  readonly changes: { at: number; members: string[] }[] = [];
  readonly errors: string[] = [];

  private constructor(
    private readonly world: ClusterWorld,
    readonly metadata: InstanceMetadata,
    private readonly openApi: Relay,
    private readonly tos: Relay,
    private readonly log: StepLog,
  ) {
    this.booter = new WorldBooter(world, log, async (instance) => {
      // The instance's metadata service answers for whatever role ECS says it holds, none at first.
      await this.metadata.serve(instance.address, () => this.fleet?.roleAt(instance.address));
    });
  }

  static async prepare(world: ClusterWorld): Promise<FleetReach> {
    const host = world.vpc.hostAddress;
    const [openApi, tos] = await Promise.all([Relay.start(host), Relay.start(host)]);
    const metadata = new InstanceMetadata({ host, vpcNamespace: world.vpc.namespace });
    const reach = new FleetReach(world, metadata, openApi, tos, world.o.log);
    world.o.cleanup.add("auto scaling's stand-ins (OpenAPI, TOS, metadata)", () => reach.close());
    world.endpoints = { openApi: openApi.url, tosS3: tos.url };
    return reach;
  }

  /** The fixed servers' metadata: the role the stack attaches to each (server 1: the backup role). */
  async serveFixedServers(): Promise<void> {
    const stack = this.world.stack;
    for (const server of this.world.servers) {
      const spec = stack.servers.find((s) => s.index === server.index);
      const attached = stack.scaling?.roleAttachments.find((a) => a.instance === spec?.resource);
      const role = attached?.role;
      await this.metadata.serve(server.address, () => role);
      if (role) this.log.info(`${server.name}: metadata hands out role ${role}`);
    }
  }

  /** The local cloud with the stack's scaling resources (not enabled), and the bucket's data plane. */
  async startCloud(): Promise<FleetCloud> {
    const stack = this.world.stack;
    if (!stack.scaling) throw new Error("the synthesized stack has no scaling group (cluster.autoScaling)");
    if (!stack.backupBucket)
      throw new Error("the synthesized stack has no backup bucket, where the fleet's objects go");
    const fleet = await FleetCloud.start({ tf: stack.tf, scaling: stack.scaling, booter: this.booter });
    this.fleet = fleet;
    this.world.scalingGroupId = fleet.groupId;
    this.s3 = await startS3StandIn({
      bucket: stack.backupBucket,
      region: String(stack.tf.provider?.volcengine?.[0]?.region ?? "cn-beijing"),
      creds: () => this.metadata.allCredentials(),
      store: fleet.cloud.store,
    });
    this.openApi.target = fleet.url;
    this.tos.target = this.s3.url;
    return fleet;
  }

  /** Every second: the scaling engine runs, and HAProxy follows the server group. */
  follow(): void {
    this.following ??= setInterval(() => void this.step(), 1000);
  }

  /** The loop ends (the scenario is over; HAProxy and the servers go next). */
  async stopFollowing(): Promise<void> {
    if (this.following) clearInterval(this.following);
    this.following = undefined;
    while (this.busy) await new Promise((r) => setTimeout(r, 100));
  }

  private async step(): Promise<void> {
    if (this.busy || !this.fleet) return;
    this.busy = true;
    try {
      await this.fleet.tick();
      const members = await this.membersFromCloud();
      const key = members.map((m) => `${m.name}@${m.address}`).join(",");
      if (key !== this.lastMembers) {
        await this.world.syncLoadBalancer(members);
        this.lastMembers = key;
        this.changes.push({ at: Date.now(), members: members.map((m) => m.name) });
        this.log.info(`CLB server group: fixed servers${members.map((m) => ` + ${m.name} (${m.address})`).join("")}`);
      }
    } catch (error) {
      const message = (error as Error).message;
      if (this.errors.at(-1) !== message) this.log.info(`auto scaling loop: ${message}`);
      this.errors.push(message);
    } finally {
      this.busy = false;
    }
  }

  /** The scaling group's members of the local cloud's server group, named as their containers. */
  private async membersFromCloud(): Promise<Member[]> {
    const servers = await this.fleet!.serverGroupMembers();
    return servers.map((s) => {
      const instance = this.booter.instances.get(s.InstanceId);
      return { name: instance?.name ?? s.InstanceId, address: s.Ip, port: Number(s.Port), weight: Number(s.Weight) };
    });
  }

  async close(): Promise<void> {
    await this.stopFollowing();
    await Promise.allSettled([
      this.openApi.close(),
      this.tos.close(),
      this.metadata.close(),
      this.s3?.close(),
      this.fleet?.close(),
    ]);
  }
}
