import { randomBytes } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { MachineSize } from "../../support/machine-cgroup.js";
import type { Cleanup } from "../cleanup.js";
import { waitForCloudInit } from "../cloud-init-wait.js";
import { Container } from "../container.js";
import { EarlyBootTurns } from "../early-boot.js";
import { serveMirror, type MirrorServer } from "../node-mirror.js";
import type { Release } from "../releases.js";
import { expectSystemRunning } from "../server-checks.js";
import { run } from "../shell.js";
import type { StepLog } from "../steps.js";
import type { MirrorNode } from "../user-data.js";
import { LoadBalancer, type Member } from "./load-balancer.js";
import { startRds, type Rds } from "./rds.js";
import { synthCluster, type SynthesizedCluster } from "./stack.js";
import { applyDeploy, deployConfiguration } from "./terraform-deploy.js";
import { createVpc, type Vpc } from "./vpc.js";

/**
 * What `cdktf deploy` of the cluster would create, built on this machine from the synthesized
 * stack: the VPC and NAT (vpc.ts), "RDS" (rds.ts), the bastion and app servers as containers
 * booted from their user data, the CLB (load-balancer.ts), and the deploy step run by Terraform
 * through the bastion (terraform-deploy.ts). The scenario (scenario.ts) drives it.
 */
export interface ClusterOptions {
  log: StepLog;
  cleanup: Cleanup;
  id: string;
  runDir: string;
  rootfs: string;
  aptCacheDir: string;
  mirrorDir: string;
  node: MirrorNode;
  cloudInitTimeoutMs: number;
  /** The instance type the app servers stand for (cgroup limits, the kit planning for it); unset: the host's. */
  serverSize?: MachineSize;
}

export interface AppServer {
  index: number;
  name: string;
  address: string;
  box: Container;
}

export class ClusterWorld {
  vpc!: Vpc;
  rds!: Rds;
  lb!: LoadBalancer;
  mirror!: MirrorServer;
  bastion!: Container;
  readonly servers: AppServer[] = [];
  /** Servers the scaling group started (world-booter.ts), while they run: in the diagnostics too. */
  readonly scaledOut: AppServer[] = [];
  stack!: SynthesizedCluster;
  private keyPath = "";
  private readonly earlyBoot = new EarlyBootTurns();
  private publicKey = "";
  readonly secrets = {
    jwtSecret: randomBytes(36).toString("base64url"),
    dbPassword: `Rh-${randomBytes(9).toString("hex")}`,
  };

  constructor(readonly o: ClusterOptions) {}

  get apiUrl(): string {
    return `http://${this.vpc.loadBalancerEip}`;
  }

  private get tfDir(): string {
    return join(this.o.runDir, "terraform");
  }

  addressOf(index: number, subnetCidr: string): string {
    return `${subnetCidr.replace(/\.0\/24$/, "")}.${10 + index}`;
  }

  async createNetwork(): Promise<void> {
    const prefix = process.env.REHEARSAL_CLUSTER_SUBNET ?? `10.215.${randomBytes(1)[0]! & 0xf8}`;
    this.vpc = await createVpc(this.o.id, prefix, this.o.cleanup);
    const runMirror = this.o.mirrorDir;
    this.mirror = await serveMirror(runMirror, this.vpc.hostAddress, 0);
    this.o.cleanup.add("mirror server (cluster)", () => this.mirror.close());
    await mkdir(this.o.runDir, { recursive: true });
    this.keyPath = join(this.o.runDir, "id_ed25519");
    await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "rehearsal-cluster", "-f", this.keyPath]);
    this.publicKey = (await readFile(`${this.keyPath}.pub`, "utf8")).trim();
  }

  /**
   * What every machine gets before its first boot besides its user data (fleet-reach.ts: the
   * run's CA and Volcengine's endpoint names, endpoints.ts); none where nothing needs them (the bench).
   */
  readonly machineFiles: { path: string; content: string; append?: boolean; whenMissing?: string }[] = [];
  /** The local cloud's id of the stack's scaling group (the seed's SEED_GROUP_ID), once it exists. */
  scalingGroupId: string | undefined;

  async synth(release: Release, servers: number, autoScaling?: Record<string, unknown>): Promise<SynthesizedCluster> {
    this.stack = await synthCluster({
      ...(autoScaling ? { autoScaling } : {}),
      workDir: join(this.o.runDir, "synth"),
      servers,
      release,
      publicKey: this.publicKey,
      privateKeyPath: this.keyPath,
      adminCidr: `${this.vpc.hostAddress}/32`,
      mirrorUrl: this.mirror.url,
      node: this.o.node,
    });
    return this.stack;
  }

  async createSubnetsAndRds(): Promise<void> {
    for (const cidr of this.stack.subnets) await this.vpc.addSubnet(cidr);
    const first = this.stack.servers[0]!.subnetCidr;
    const at = await this.vpc.attach("rds", first.replace(/\.0\/24$/, ".200"));
    this.rds = await startRds(
      {
        databaseName: this.stack.rds.databaseName,
        accountName: this.stack.rds.accountName,
        password: this.secrets.dbPassword,
        allowList: this.stack.rds.allowList,
      },
      { namespace: at.namespace, address: at.containerAddress, dir: join(this.o.runDir, "rds") },
      this.o.cleanup,
    );
  }

  /**
   * A machine in the VPC at `address`, booted from `userData`. `instance` is for an instance the
   * local cloud runs (a scaled-out server): its id and host name, and a cleanup of its own, run
   * when the instance is deleted (and at the end of the run, whatever happens).
   */
  async bootMachine(
    name: string,
    address: string,
    userData: string,
    size?: MachineSize,
    instance?: { id: string; hostname: string; cleanup: Cleanup },
  ): Promise<Container> {
    const network = await this.vpc.attach(name, address);
    instance?.cleanup.add(`network namespace ${network.namespace}`, async () => {
      await run("ip", ["netns", "delete", network.namespace], { allowFailure: true });
    });
    const box = new Container(
      {
        name: `todo-rc-${this.o.id}-${name}`,
        runDir: join(this.o.runDir, name),
        lowerDir: this.o.rootfs,
        network,
        aptCacheDir: this.o.aptCacheDir,
        ...(size ? { size } : {}),
      },
      instance?.cleanup ?? this.o.cleanup,
    );
    await mkdir(join(this.o.runDir, name), { recursive: true });
    await box.prepare();
    await box.writeSeed(userData, instance?.id ?? `rehearsal-${this.o.id}-${name}`, instance?.hostname ?? name);
    // The key pair: what the ECS puts in root's authorized_keys from the instance's key pair.
    await box.writeFile("root/.ssh/authorized_keys", `${this.publicKey}\n`, 0o600);
    for (const f of this.machineFiles) {
      const before = f.append ? await box.readFile(f.path).catch(() => f.whenMissing ?? "") : "";
      await box.writeFile(f.path, `${before}${before && !before.endsWith("\n") ? "\n" : ""}${f.content}`);
    }
    await this.earlyBoot.boot(box);
    return box;
  }

  /** Boots the bastion and the servers (in parallel), waits for cloud-init on each. */
  async bootMachines(indexes: number[]): Promise<void> {
    const log = this.o.log;
    const boots: Promise<unknown>[] = [];
    if (!this.bastion) {
      const address = `${this.stack.bastion.subnetCidr.replace(/\.0\/24$/, "")}.5`;
      boots.push(
        (async () => {
          this.bastion = await this.bootMachine("bastion", address, this.stack.bastion.userData);
          await waitForCloudInit(this.bastion, this.o.cloudInitTimeoutMs, () => undefined);
          await this.vpc.forward(this.vpc.bastionEip, 22, address);
          log.info(`bastion ${address}, EIP ${this.vpc.bastionEip}: cloud-init done`);
        })(),
      );
    }
    for (const index of indexes) {
      const spec = this.stack.servers.find((s) => s.index === index);
      if (!spec) throw new Error(`the synthesized stack has no server ${index}`);
      boots.push(
        (async () => {
          const name = `app-${index}`;
          const address = this.addressOf(index, spec.subnetCidr);
          const box = await this.bootMachine(name, address, spec.userData, this.o.serverSize);
          const started = Date.now();
          await waitForCloudInit(box, this.o.cloudInitTimeoutMs, () => undefined);
          await expectSystemRunning(box, log);
          this.servers.push({ index, name, address, box });
          log.info(`${name} ${address}: cloud-init done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
        })(),
      );
    }
    await Promise.all(boots);
    this.servers.sort((a, b) => a.index - b.index);
  }

  /** The synthesized deploy step, applied by Terraform through the bastion; returns its output. */
  async deploy(onOutput?: (chunk: string) => void): Promise<string> {
    const references: Record<string, string> = {};
    const tf = this.stack.tf;
    for (const server of this.servers) {
      // A server the stack no longer has is not referenced (its deploy step leaves the state).
      const spec = this.stack.servers.find((s) => s.index === server.index);
      if (!spec) continue;
      references[`${spec.resource}.primary_ip_address`] = server.address;
      references[`${spec.resource}.id`] = `i-rehearsal-${this.o.id}-${server.name}`;
    }
    for (const key of Object.keys(tf.resource.volcengine_eip_address ?? {})) {
      if (key.startsWith("bastion")) references[`volcengine_eip_address.${key}.eip_address`] = this.vpc.bastionEip;
    }
    for (const key of Object.keys(tf.resource.volcengine_scaling_group ?? {})) {
      if (this.scalingGroupId) references[`volcengine_scaling_group.${key}.id`] = this.scalingGroupId;
    }
    for (const key of Object.keys(tf.resource.volcengine_rds_postgresql_account ?? {})) {
      references[`volcengine_rds_postgresql_account.${key}.account_name`] = this.stack.rds.accountName;
    }
    for (const key of Object.keys(tf.resource.volcengine_rds_postgresql_database ?? {})) {
      references[`volcengine_rds_postgresql_database.${key}.db_name`] = this.stack.rds.databaseName;
    }
    const locals: Record<string, string> = {};
    for (const name of Object.keys(tf.locals ?? {})) {
      if (name.startsWith("database_host_")) locals[name] = this.rds.address;
      if (name.startsWith("database_port_")) locals[name] = String(this.rds.port);
    }
    return applyDeploy(this.tfDir, deployConfiguration(tf, { references, locals }), this.secrets, onOutput);
  }

  /** Each running server's failed units and recent warnings: what explains a failed step. */
  async diagnostics(): Promise<string> {
    const parts: string[] = [];
    for (const server of [...this.servers, ...this.scaledOut]) {
      if (!server.box.running) continue;
      const out = await server.box.exec(
        "systemctl --failed --no-pager; for u in $(systemctl --failed --plain --no-legend | awk '{print $1}'); do journalctl -b -u \"$u\" --no-pager -n 30; done; journalctl -b -p warning --no-pager -n 40",
        { allowFailure: true, timeoutMs: 30_000 },
      );
      parts.push(`----- ${server.name} (${server.address})\n${out.output}`);
    }
    return parts.join("\n");
  }

  /** A server the stack no longer has: out of the group (requests finish), then the instance goes. */
  async removeServer(index: number): Promise<void> {
    const server = this.servers.find((s) => s.index === index);
    if (!server) return;
    await this.syncLoadBalancer();
    await this.cutPower(server);
    this.servers.splice(this.servers.indexOf(server), 1);
  }

  /**
   * The server stops at once, as when its instance is deleted or loses power: its init is killed,
   * and with it every process of its PID namespace. Not an orderly poweroff: the containers share
   * one cgroup tree on this machine (each sees the same unified hierarchy), and a systemd shutting
   * down there reaches into the cgroups of the same units on the other servers.
   */
  async cutPower(server: AppServer): Promise<void> {
    const pid = server.box.pid;
    if (pid === undefined || !server.box.running) return;
    process.kill(pid, "SIGKILL");
    const deadline = Date.now() + 30_000;
    while (server.box.running) {
      if (Date.now() > deadline) throw new Error(`${server.name} did not stop within 30 s of SIGKILL to its init`);
      await sleep(100);
    }
  }

  /**
   * The server group as the stack defines it, members being the servers deployed so far, and
   * `extra` members (the scaling group's, as the local cloud's server group holds them).
   */
  async syncLoadBalancer(extra: Member[] = []): Promise<void> {
    if (!this.lb) {
      await mkdir(join(this.o.runDir, "lb"), { recursive: true });
      this.lb = new LoadBalancer(
        this.vpc.loadBalancerNamespace,
        join(this.o.runDir, "lb"),
        this.stack.listener,
        this.o.cleanup,
      );
    }
    const members = this.stack.groupServers.map((member) => {
      const spec = this.stack.servers.find((s) => s.resource === member.instanceResource);
      const server = this.servers.find((s) => s.index === spec?.index);
      if (!spec || !server) throw new Error(`server group member ${member.instanceResource} is not a booted server`);
      return { name: server.name, address: server.address, port: member.port, weight: member.weight };
    });
    await this.lb.setMembers([...members, ...extra]);
  }
}
