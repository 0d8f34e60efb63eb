import type { BootRequest, InstanceBooter } from "../../../local-cloud/booter.js";
import { Cleanup } from "../cleanup.js";
import type { Container } from "../container.js";
import type { StepLog } from "../steps.js";
import type { ClusterWorld } from "./world.js";

/**
 * The local cloud's ECS instances (those the scaling group launches) as machines of the cluster
 * world: each RunInstances boots a Debian 12 container from the scaling configuration's user data
 * in the VPC, on the bridge of the instance's subnet at the private address ECS reports, with the
 * key pair's public key in root's authorized_keys (world.ts's bootMachine, as the fixed servers);
 * DeleteInstance cuts its power and removes it (container, overlay, network namespace) so the
 * address can be the next instance's. Operations of one instance run in the order asked, in the
 * background, as ECS does them; failures are kept in `failures` for the scenario to report.
 */
export interface ScaledInstance {
  instanceId: string;
  name: string;
  address: string;
  box?: Container;
  bootedAt?: number;
  requestedAt: number;
  removedAt?: number;
}

export class WorldBooter implements InstanceBooter {
  readonly failures: string[] = [];
  readonly instances = new Map<string, ScaledInstance>();
  private readonly queues = new Map<string, Promise<void>>();
  private readonly cleanups = new Map<string, Cleanup>();
  private count = 0;

  constructor(
    private readonly world: ClusterWorld,
    private readonly log: StepLog,
    /** What the instance's surroundings need before it boots (its metadata service). */
    private readonly beforeBoot: (instance: ScaledInstance) => Promise<void> = async () => undefined,
  ) {}

  run(request: BootRequest): void {
    const name = `as-${++this.count}`;
    const instance: ScaledInstance = {
      instanceId: request.instanceId,
      name,
      address: request.network.privateIpAddress,
      requestedAt: Date.now(),
    };
    this.instances.set(request.instanceId, instance);
    const cleanup = new Cleanup();
    this.cleanups.set(request.instanceId, cleanup);
    this.world.o.cleanup.add(`scaled-out instance ${request.instanceId}`, () => cleanup.runAll());
    this.enqueue(request.instanceId, "boot", async () => {
      await this.beforeBoot(instance);
      instance.box = await this.world.bootMachine(name, instance.address, request.userData, this.world.o.serverSize, {
        id: request.instanceId,
        hostname: request.hostname,
        cleanup,
      });
      instance.bootedAt = Date.now();
      this.world.scaledOut.push({ index: 0, name, address: instance.address, box: instance.box });
      this.log.info(
        `ECS: ${request.instanceId} boots as ${name} at ${instance.address} (${request.network.subnetCidr})`,
      );
    });
  }

  remove(instanceId: string): void {
    this.enqueue(instanceId, "delete", async () => {
      const instance = this.instances.get(instanceId);
      const server = this.world.scaledOut.find((s) => s.name === instance?.name);
      if (server) {
        await this.world.cutPower(server);
        this.world.scaledOut.splice(this.world.scaledOut.indexOf(server), 1);
      }
      await this.cleanups.get(instanceId)?.runAll();
      if (instance) instance.removedAt = Date.now();
      this.log.info(`ECS: ${instanceId} deleted (${instance?.name ?? "never booted"})`);
    });
  }

  stop(instanceId: string): void {
    this.failures.push(`${instanceId}: StopInstance is not rehearsed`);
  }

  start(instanceId: string): void {
    this.failures.push(`${instanceId}: StartInstance is not rehearsed`);
  }

  attachAddress(instanceId: string): void {
    this.failures.push(`${instanceId}: an EIP on a scaled-out server is not rehearsed`);
  }

  detachAddress(instanceId: string): void {
    this.failures.push(`${instanceId}: an EIP on a scaled-out server is not rehearsed`);
  }

  /** Waits until every queued operation has run. */
  async settled(): Promise<void> {
    await Promise.all(this.queues.values());
  }

  /** Instances booted and not deleted. */
  get running(): ScaledInstance[] {
    return [...this.instances.values()].filter((i) => i.box && i.removedAt === undefined);
  }

  private enqueue(instanceId: string, what: string, body: () => Promise<void>): void {
    const before = this.queues.get(instanceId) ?? Promise.resolve();
    this.queues.set(
      instanceId,
      before.then(body).catch((error: Error) => {
        this.failures.push(`${instanceId}: ${what}: ${error.message}`);
        this.log.info(`ECS: ${instanceId} ${what} FAILED: ${error.message}`);
      }),
    );
  }
}
