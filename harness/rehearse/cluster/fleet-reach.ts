import { join } from "node:path";
import { type S3StandIn, startS3StandIn } from "../../../local-cloud/services/tos/s3-data-plane.js";
import type { StepLog } from "../steps.js";
import { endpointNames, hostsLines, makeRehearsalCa, OPENAPI_HOST, trustFiles } from "./endpoints.js";
import { FleetCloud } from "./fleet-cloud.js";
import { InstanceMetadata } from "./instance-metadata.js";
import type { Member } from "./load-balancer.js";
import { TlsFront } from "./tls-front.js";
import { WorldBooter } from "./world-booter.js";
import type { ClusterWorld } from "./world.js";

/**
 * What the servers of the cluster reach besides each other, for auto scaling: Volcengine's
 * OpenAPI (the local cloud, in this process) and TOS's S3 data plane, both under their real names
 * behind a TLS front on the host's end of the uplink (reached through the NAT, as the Internet;
 * endpoints.ts, tls-front.ts), and the ECS metadata service per instance (instance-metadata.ts).
 * `prepare` runs after the first synth and before any machine boots (the names, the CA and the
 * hosts lines go into every machine); `startCloud` makes the stand-in from the synthesized
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
    private readonly front: TlsFront,
    private readonly tosNames: string[],
    private readonly log: StepLog,
  ) {
    this.booter = new WorldBooter(world, log, async (instance) => {
      // The instance's metadata service answers for whatever role ECS says it holds, none at first.
      await this.metadata.serve(instance.address, () => this.fleet?.roleAt(instance.address));
    });
  }

  static async prepare(world: ClusterWorld): Promise<FleetReach> {
    const host = world.vpc.hostAddress;
    const stack = world.stack;
    const texts = [...stack.servers.map((s) => s.userData), JSON.stringify(stack.tf.resource.null_resource ?? {})];
    // The stack calls the OpenAPI once it has a scaling group (the seed); servers booted before
    // that resolve it too.
    const names = { ...endpointNames(texts), openApi: OPENAPI_HOST };
    const buckets = stack.backupBucket ? [stack.backupBucket] : [];
    const served = [OPENAPI_HOST, ...names.tos.flatMap((t) => [t, `*.${t}`])];
    const ca = await makeRehearsalCa(join(world.o.runDir, "ca"), served);
    const front = await TlsFront.start(host, 443, ca);
    const metadata = new InstanceMetadata({ host, vpcNamespace: world.vpc.namespace });
    const reach = new FleetReach(world, metadata, front, names.tos, world.o.log);
    world.o.cleanup.add("auto scaling's stand-ins (OpenAPI, TOS, metadata)", () => reach.close());
    world.machineFiles.push(...trustFiles(ca.caPem).map((f) => ({ ...f, append: f.path === "etc/environment" })), {
      path: "etc/hosts",
      content: `${hostsLines(names, buckets, host).join("\n")}\n`,
      append: true,
    });
    world.o.log.info(`Volcengine's endpoints at ${host}:443 (TLS, the run's CA): ${served.join(", ")}`);
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
    this.front.targets.set(OPENAPI_HOST, fleet.url);
    for (const t of this.tosNames) {
      this.front.targets.set(t, this.s3.url);
      this.front.targets.set(`*.${t}`, this.s3.url);
    }
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
    await Promise.allSettled([this.front.close(), this.metadata.close(), this.s3?.close(), this.fleet?.close()]);
  }
}
