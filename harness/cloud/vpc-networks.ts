import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { DatabaseState, LoadBalancerForwarding, NetworkBooter } from "../../local-cloud/network-booter.js";
import { Cleanup } from "../rehearse/cleanup.js";
import { startPostgres } from "../rehearse/cluster/rds.js";
import type { PrivateNetwork } from "../rehearse/network.js";
import { run } from "../rehearse/shell.js";
import type { StepLog } from "../rehearse/steps.js";
import { ClbForwarder } from "./clb-forwarder.js";
import { RdsServer } from "./rds-server.js";
import { createNatVpc, mapEip, setEgress, unmapEip, unroute, type VpcEntry } from "./vpc-nat.js";

/**
 * The stand-in's VPCs on this machine, built with the cluster rehearsal's network (cluster/vpc.ts):
 * one "vpc" namespace per VPC routing between its subnets (a bridge each, made when the first
 * server or RDS instance lands in it), joined to this machine by an uplink. On top of it, from the
 * stand-in's records (local-cloud/network-booter.ts):
 *  - NAT gateway: only the sources of SNAT entries are masqueraded out through the uplink;
 *  - EIPs: an EIP maps 1:1 to its server's private address (DNAT in, SNAT out), routed from here;
 *  - CLB: HAProxy in the VPC's load-balancer namespace (clb-forwarder.ts), its public address
 *    mapped to it, so `http://<CLB address>` from this machine reaches the listener;
 *  - RDS: PostgreSQL in a namespace of its own at the endpoint's private address (rds-server.ts);
 *    the endpoint's domain name is given to the VPC's servers as /etc/hosts lines (hostsLines),
 *    which is what the VPC's private DNS answers.
 * All work runs in one queue in the order the stand-in asked for it; failures are collected.
 */
export class VpcNetworks implements NetworkBooter {
  readonly failures: string[] = [];
  readonly events: { at: number; what: string }[] = [];
  private readonly vpcs = new Map<string, VpcEntry>();
  private readonly forwarders = new Map<string, { fw: ClbForwarder; vpcId: string; address: string }>();
  private readonly databases = new Map<string, { rds: Promise<RdsServer>; cleanup: Cleanup; address: string }>();
  private readonly hosts = new Map<string, string>();
  private readonly hostsWatchers: (() => Promise<void>)[] = [];
  private queue: Promise<void> = Promise.resolve();
  /** Ids of the VPC namespaces this booter made (todo-rc-<id>-…). */
  private readonly made: string[] = [];
  /** Work directories of HAProxy and PostgreSQL this booter made (none may be left after destroy). */
  private readonly touched = new Set<string>();

  constructor(private readonly opts: { workDir: string; log: StepLog }) {}

  /** `<address> <domain>` lines the VPC's DNS answers (RDS endpoints). */
  hostsLines(): string[] {
    return [...this.hosts].map(([domain, address]) => `${address} ${domain}`);
  }

  /** Called after the lines change (the instance booter rewrites its servers' /etc/hosts). */
  onHostsChange(watcher: () => Promise<void>): void {
    this.hostsWatchers.push(watcher);
  }

  /** A server's interface in its subnet, at its private address. */
  attach(name: string, network: { vpcId: string; subnetCidr: string; privateIpAddress: string }) {
    return this.enqueue(`attach ${name} ${network.privateIpAddress}`, async () => {
      const entry = await this.subnet(network.vpcId, network.subnetCidr);
      return entry.vpc.attach(name, network.privateIpAddress);
    }) as Promise<PrivateNetwork & { namespace: string }>;
  }

  /** An EIP in front of a private address: in by DNAT, out by SNAT, routed from this machine. */
  mapAddress(vpcId: string, address: string, privateAddress: string): Promise<void> {
    return this.enqueue(`map ${address} → ${privateAddress}`, async () => {
      const entry = await this.ensureVpc(vpcId);
      await mapEip(entry, address, privateAddress);
    });
  }

  unmapAddress(vpcId: string, address: string, privateAddress?: string): Promise<void> {
    return this.enqueue(`unmap ${address}`, async () => {
      const entry = this.vpcs.get(vpcId);
      if (!entry) return;
      await unmapEip(entry, address, privateAddress);
    });
  }

  egress(vpcId: string, sourceCidrs: string[]): void {
    void this.enqueue(`egress of ${vpcId}: ${sourceCidrs.join(", ") || "none"}`, async () => {
      const entry = await this.ensureVpc(vpcId);
      await setEgress(entry, sourceCidrs);
    });
  }

  vpcDeleted(vpcId: string): void {
    void this.enqueue(`VPC ${vpcId} deleted`, async () => {
      const entry = this.vpcs.get(vpcId);
      if (!entry) return;
      this.vpcs.delete(vpcId);
      await entry.cleanup.runAll();
    });
  }

  loadBalancer(loadBalancerId: string, forwarding: LoadBalancerForwarding | undefined): void {
    const summary = forwarding
      ? forwarding.listeners
          .map((l) => `:${l.port} → ${l.servers.map((s) => `${s.ip}:${s.port}`).join(", ")}`)
          .join("; ")
      : "deleted";
    void this.enqueue(`load balancer ${loadBalancerId}: ${summary || "no listener"}`, async () => {
      let held = this.forwarders.get(loadBalancerId);
      if (!forwarding) {
        if (!held) return;
        await held.fw.stop();
        this.forwarders.delete(loadBalancerId);
        const entry = this.vpcs.get(held.vpcId);
        if (entry) await unmapEip(entry, held.address);
        else await unroute(held.address);
        await rm(this.clbDir(loadBalancerId), { recursive: true, force: true });
        return;
      }
      if (!held) {
        const entry = await this.ensureVpc(forwarding.vpcId);
        if ([...this.forwarders.values()].some((f) => f.vpcId === forwarding.vpcId))
          throw new Error("one load balancer per VPC is rehearsed");
        this.touched.add(this.clbDir(loadBalancerId));
        held = {
          fw: new ClbForwarder(entry.vpc.loadBalancerNamespace, this.clbDir(loadBalancerId), entry.cleanup),
          vpcId: forwarding.vpcId,
          address: forwarding.address,
        };
        this.forwarders.set(loadBalancerId, held);
        if (forwarding.type === "public")
          await mapEip(entry, forwarding.address, entry.vpc.loadBalancerBackendAddress, { inboundOnly: true });
      }
      await held.fw.apply(forwarding);
    });
  }

  /** The (first) RDS instance's PostgreSQL and the namespace of its VPC's load balancer (outside the allowlist): for the scenario's checks. */
  async firstDatabase(): Promise<{ rds: RdsServer; outsider: string } | undefined> {
    const held = [...this.databases.values()][0];
    const vpc = [...this.vpcs.values()][0];
    return held && vpc ? { rds: await held.rds, outsider: vpc.vpc.loadBalancerNamespace } : undefined;
  }

  /** HAProxy of the (first) load balancer: its members' states, for the scenario's checks. */
  firstForwarder(): ClbForwarder | undefined {
    return [...this.forwarders.values()][0]?.fw;
  }

  database(instanceId: string, state: DatabaseState | undefined): void {
    void this.enqueue(
      `RDS ${instanceId}: ${state ? `${state.address}, ${state.accounts.length} account(s), ${state.databases.length} database(s), allowlist ${state.allowList.join(",") || "empty"}` : "deleted"}`,
      async () => {
        let held = this.databases.get(instanceId);
        if (!state) {
          if (!held) return;
          await (await held.rds).pg.stop();
          await held.cleanup.runAll();
          this.databases.delete(instanceId);
          for (const [domain] of [...this.hosts].filter(([, a]) => a === held!.address)) this.hosts.delete(domain);
          return this.hostsChanged(instanceId);
        }
        if (!held) {
          const entry = await this.subnet(state.vpcId, state.subnetCidr);
          const cleanup = new Cleanup();
          const name = `r${randomBytes(2).toString("hex")}`;
          const at = await entry.vpc.attach(name, state.address);
          cleanup.add(`network namespace ${at.namespace}`, async () => {
            await run("ip", ["netns", "delete", at.namespace], { allowFailure: true });
          });
          const dir = join(this.opts.workDir, `rds-${instanceId}`);
          this.touched.add(dir);
          cleanup.add(`directory ${dir}`, () => rm(dir, { recursive: true, force: true }));
          held = {
            rds: startPostgres({ namespace: at.namespace, address: state.address, dir }, [], cleanup).then(
              (pg) => new RdsServer(pg),
            ),
            cleanup,
            address: state.address,
          };
          this.databases.set(instanceId, held);
          this.hosts.set(state.domain, state.address);
          await this.hostsChanged(instanceId);
        }
        await (await held.rds).apply(state);
      },
    );
  }

  databasePassword(instanceId: string, accountName: string, password: string): void {
    void this.enqueue(`RDS ${instanceId}: password of ${accountName}`, async () => {
      const held = this.databases.get(instanceId);
      if (!held) throw new Error("no PostgreSQL for this instance");
      await (await held.rds).setPassword(accountName, password);
    });
  }

  /** Waits until every queued operation has run. */
  settled(): Promise<void> {
    return this.queue;
  }

  /** VPCs, namespaces, uplinks, NAT tables, HAProxy and PostgreSQL of this booter still on the machine (none after destroy). */
  async leftovers(): Promise<string[]> {
    const namespaces = (await run("ip", ["netns", "list"])).stdout.split("\n").map((l) => l.split(" ")[0]!);
    const links = (await run("ip", ["-o", "link", "show"])).stdout;
    const tables = (await run("nft", ["list", "tables"])).stdout;
    const dirs = [...this.touched].filter((d) => existsSync(d));
    return [
      ...dirs.map((d) => `directory ${d}`),
      ...[...this.vpcs.keys()].map((id) => `network of ${id}`),
      ...[...this.databases.keys()].map((id) => `PostgreSQL of ${id}`),
      ...[...this.forwarders.keys()].map((id) => `HAProxy of ${id}`),
      ...namespaces.filter((n) => this.made.some((id) => n.startsWith(`todo-rc-${id}-`))),
      ...this.made
        .filter((id) => links.includes(` rc${id}u@`) || links.includes(` rc${id}u:`))
        .map((id) => `uplink rc${id}u`),
      ...this.made
        .filter((id) => tables.includes(`todo_cluster_${id}`))
        .map((id) => `nftables table todo_cluster_${id}`),
    ];
  }

  /** Everything: the end of a run, a failure, Ctrl-C. */
  async removeAll(): Promise<void> {
    await this.queue.catch(() => undefined);
    for (const [, held] of this.forwarders) await held.fw.stop();
    this.forwarders.clear();
    for (const [, held] of this.databases) await held.cleanup.runAll();
    this.databases.clear();
    for (const [, entry] of this.vpcs) await entry.cleanup.runAll();
    this.vpcs.clear();
  }

  private enqueue<T>(what: string, body: () => Promise<T>): Promise<T | undefined> {
    const result = this.queue.then(async () => {
      const started = Date.now();
      try {
        const value = await body();
        this.events.push({ at: Date.now(), what });
        this.opts.log.info(`network: ${what} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
        return value;
      } catch (error) {
        this.failures.push(`${what}: ${(error as Error).message}`);
        this.opts.log.info(`network: ${what} FAILED: ${(error as Error).message}`);
        return undefined;
      }
    });
    this.queue = result.then(() => undefined);
    return result;
  }

  private clbDir(loadBalancerId: string): string {
    return join(this.opts.workDir, `clb-${loadBalancerId}`);
  }

  private async ensureVpc(vpcId: string): Promise<VpcEntry> {
    const known = this.vpcs.get(vpcId);
    if (known) return known;
    const entry = await createNatVpc();
    this.made.push(entry.id);
    this.vpcs.set(vpcId, entry);
    this.opts.log.info(`network: VPC ${vpcId} is namespace ${entry.vpc.namespace}, uplink ${entry.uplinkNet}`);
    return entry;
  }

  private async subnet(vpcId: string, cidr: string): Promise<VpcEntry> {
    const entry = await this.ensureVpc(vpcId);
    if (!entry.subnets.has(cidr)) {
      await entry.vpc.addSubnet(cidr);
      entry.subnets.add(cidr);
    }
    return entry;
  }

  private async hostsChanged(instanceId: string): Promise<void> {
    for (const watcher of this.hostsWatchers)
      await watcher().catch((e: unknown) => this.failures.push(`${instanceId}: /etc/hosts: ${(e as Error).message}`));
  }
}
