import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, openSync, closeSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { MachineCgroup, type MachineSize } from "../support/machine-cgroup.js";
import type { Cleanup } from "./cleanup.js";
import type { PrivateNetwork } from "./network.js";
import { run, tail, type RunOptions, type RunResult } from "./shell.js";

/**
 * The rehearsal server: a throw-away overlay on the cached Debian root filesystem, booted with
 * systemd-nspawn (systemd as PID 1, the real cloud-init from a NoCloud seed) in its own network
 * namespace. Commands run inside with nsenter into PID 1's namespaces, because with
 * `--register=no` there is no machined to ask (no `machinectl shell`, no `systemd-run -M`).
 */
export interface ContainerOptions {
  name: string;
  runDir: string;
  lowerDir: string;
  network: PrivateNetwork;
  /**
   * Host directory of .deb files kept between rehearsals. Each run gets its own hard-linked copy
   * bound over /var/cache/apt/archives (apt locks that directory, so concurrent rehearsals must
   * not share it), and new downloads are linked back into it when the run ends.
   */
  aptCacheDir: string;
  /**
   * The ECS instance it stands for (e.g. 2 vCPU / 2 GiB): cgroup limits on the container, and the
   * limit shown inside so that the server kit plans for it (see exposeMemoryLimit). Unset: the
   * container shares the whole host, and sees it.
   */
  size?: MachineSize;
}

/** Where the container sees its memory cgroup (the v1 hierarchy, rooted at its own cgroup). */
export const CONTAINER_MEMORY_CGROUP = "/run/rehearsal-cgroup/memory";

const CONTAINER_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export class Container {
  readonly root: string;
  private nspawn: ChildProcess | undefined;
  private exited: Promise<number | null> | undefined;
  private pid1: number | undefined;
  private boots = 0;
  /** The cgroups that size the container (options.size), made at the first boot. */
  machine: MachineCgroup | undefined;

  constructor(
    private readonly options: ContainerOptions,
    private readonly cleanup: Cleanup,
  ) {
    this.root = join(options.runDir, "root");
  }

  private get aptArchives(): string {
    return join(this.options.runDir, "apt-archives");
  }

  get consoleLog(): string {
    return join(this.options.runDir, `console-${this.boots}.log`);
  }

  /** Mounts a fresh overlay: the cached image stays pristine, every rehearsal starts from it. */
  async prepare(): Promise<void> {
    const upper = join(this.options.runDir, "upper");
    const work = join(this.options.runDir, "work");
    await Promise.all([upper, work, this.root, this.options.aptCacheDir].map((d) => mkdir(d, { recursive: true })));
    await mkdir(this.aptArchives, { recursive: true });
    await linkDebs(this.options.aptCacheDir, this.aptArchives);
    this.cleanup.add("keep the downloaded packages", () => linkDebs(this.aptArchives, this.options.aptCacheDir));
    await run("mount", [
      "-t",
      "overlay",
      "overlay",
      "-o",
      `lowerdir=${this.options.lowerDir},upperdir=${upper},workdir=${work}`,
      this.root,
    ]);
    this.cleanup.add(`overlay ${this.root}`, async () => {
      const result = await run("umount", [this.root], { allowFailure: true });
      if (result.code !== 0) await run("umount", ["--lazy", this.root], { allowFailure: true });
    });
  }

  /** What the ECS metadata service provides, as a NoCloud seed the image's cloud-init reads. */
  async writeSeed(userData: string, instanceId: string, hostname: string): Promise<void> {
    const seed = join(this.root, "var/lib/cloud/seed/nocloud");
    await mkdir(seed, { recursive: true });
    await writeFile(join(seed, "user-data"), userData);
    await writeFile(join(seed, "meta-data"), `instance-id: ${instanceId}\nlocal-hostname: ${hostname}\n`);
    // The network is configured by the rehearsal (namespace + veth) before boot, like a cloud
    // network the metadata service would describe; cloud-init must not try DHCP on it.
    await writeFile(
      join(this.root, "etc/cloud/cloud.cfg.d/90-rehearsal.cfg"),
      "datasource_list: [ NoCloud, None ]\nnetwork: {config: disabled}\n",
    );
  }

  async writeFile(path: string, content: string | Buffer, mode = 0o644): Promise<void> {
    const target = join(this.root, path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, content, { mode });
  }

  async readFile(path: string): Promise<string> {
    return readFile(join(this.root, path), "utf8");
  }

  /** PID of the container's init on the host (for nsenter by hand). */
  get pid(): number | undefined {
    return this.pid1;
  }

  get running(): boolean {
    return this.nspawn !== undefined && this.nspawn.exitCode === null && this.nspawn.signalCode === null;
  }

  async boot(): Promise<void> {
    if (this.running) throw new Error("container is already running");
    this.boots += 1;
    if (this.options.size && !this.machine) {
      const machine = await MachineCgroup.create(this.options.name, this.options.size);
      this.machine = machine;
      // Registered before the container's poweroff, so it runs after it (cleanup is last-in, first-out).
      this.cleanup.add("the container's cgroups", () => machine.remove());
    }
    const consoleFd = openSync(this.consoleLog, "a");
    const nspawn = this.inMachine("systemd-nspawn", [
      "--quiet",
      "--register=no",
      "--keep-unit",
      `--machine=${this.options.name}`,
      "-D",
      this.root,
      `--network-namespace-path=${this.options.network.namespacePath}`,
      // The namespace is the container's own, so it may load the host firewall (netfilter rules
      // there filter only its traffic), as on a VM: the rehearsal checks it from outside.
      "--capability=CAP_NET_ADMIN",
      "--resolv-conf=copy-host",
      `--bind=${this.aptArchives}:/var/cache/apt/archives`,
      "--console=pipe",
      // IPAddressDeny= (app@.service) is a BPF program on the unit's cgroup: systemd in the
      // container needs the bpf() call, which nspawn filters by default, and the unified
      // cgroup hierarchy (v2), which it would not get on a cgroup v1 host (like this one)
      // without SYSTEMD_NSPAWN_UNIFIED_HIERARCHY below. Debian 12 servers run v2 anyway.
      "--system-call-filter=bpf",
      "--boot",
    ]);
    const child = spawn(nspawn.command, nspawn.args, {
      stdio: ["ignore", consoleFd, consoleFd],
      env: { ...process.env, SYSTEMD_NSPAWN_UNIFIED_HIERARCHY: "1" },
    });
    closeSync(consoleFd);
    this.nspawn = child;
    this.exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
    if (this.boots === 1) this.cleanup.add("container", () => this.poweroff());

    const deadline = Date.now() + 60_000;
    for (;;) {
      const pid = await findInit(child.pid!);
      if (pid !== undefined && existsSync(`/proc/${pid}/root/run/systemd/private`)) {
        this.pid1 = pid;
        if (this.machine) await this.exposeMemoryLimit();
        return;
      }
      if (!this.running) {
        throw new Error(`systemd-nspawn exited during boot:\n${tail(await this.console(), 40)}`);
      }
      if (Date.now() > deadline) throw new Error("systemd did not come up inside the container within 60 s");
      await sleep(250);
    }
  }

  /** A command line that starts inside the container's cgroups when it is sized (else as it is). */
  private inMachine(command: string, args: string[]): { command: string; args: string[] } {
    return this.machine ? this.machine.wrap(command, args) : { command, args };
  }

  /**
   * The container runs with the unified hierarchy (see boot), where this host has no memory
   * controller: inside, nothing would show the limit, and /proc/meminfo is the host's. So the v1
   * memory hierarchy is mounted read-only inside, in the container's cgroup namespace (its root is
   * the container's own cgroup): the same view a container runtime on a cgroup v1 host gives, and
   * what the server kit reads (cloud-init/memory-limit.ts finds it through mountinfo). Again at
   * every boot: /run is a fresh tmpfs.
   */
  private async exposeMemoryLimit(): Promise<void> {
    await run("nsenter", [
      `--target=${this.pid1}`,
      "--mount",
      "--cgroup",
      "--",
      "sh",
      "-c",
      `mkdir -p ${CONTAINER_MEMORY_CGROUP} && mount -t cgroup -o ro,nosuid,nodev,noexec,memory cgroup ${CONTAINER_MEMORY_CGROUP}`,
    ]);
  }

  /**
   * Runs a shell script inside the container as root, with a clean environment; in the container's
   * cgroups when it is sized, so what runs "on the server" counts against the server's memory.
   */
  exec(script: string, options: RunOptions = {}): Promise<RunResult> {
    if (!this.running || this.pid1 === undefined) throw new Error("container is not running");
    const nsenter = this.inMachine("nsenter", [
      `--target=${this.pid1}`,
      "--all",
      "--",
      "env",
      "-i",
      `PATH=${CONTAINER_PATH}`,
      "LANG=C.UTF-8",
      "HOME=/root",
      "/bin/sh",
      "-c",
      script,
    ]);
    return run(nsenter.command, nsenter.args, options);
  }

  /** Orderly shutdown (systemd-nspawn turns SIGTERM into a poweroff of the container). */
  async poweroff(timeoutMs = 60_000): Promise<void> {
    const child = this.nspawn;
    if (!child || !this.running) return;
    child.kill("SIGTERM");
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      this.exited!.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      child.kill("SIGKILL");
      await this.exited;
    }
    this.pid1 = undefined;
  }

  async console(): Promise<string> {
    return readFile(this.consoleLog, "utf8").catch(() => "");
  }

  /** cloud-init's logs and the journal: what explains a failed boot. */
  async diagnostics(): Promise<string> {
    const parts: string[] = [];
    const file = async (path: string, lines: number) => {
      const text = await readFile(join(this.root, path), "utf8").catch(() => undefined);
      if (text !== undefined) parts.push(`----- ${path} (last ${lines} lines)\n${tail(text, lines)}`);
    };
    await file("var/log/cloud-init-output.log", 120);
    await file("var/log/cloud-init.log", 60);
    await file("var/log/nginx/error.log", 40);
    if (this.running) {
      const status = await this.exec("cloud-init status --long; systemctl --failed --no-pager", { allowFailure: true });
      parts.push(`----- cloud-init status / failed units\n${status.output}`);
      const journal = await this.exec("journalctl -b --no-pager -p warning -n 80; journalctl -b --no-pager -n 120", {
        allowFailure: true,
        timeoutMs: 20_000,
      });
      parts.push(`----- journalctl (warnings, then the last lines)\n${journal.output}`);
    } else if (existsSync(join(this.root, "var/log/journal"))) {
      const journal = await run("journalctl", ["-D", join(this.root, "var/log/journal"), "--no-pager", "-n", "150"], {
        allowFailure: true,
      });
      parts.push(`----- journal (from disk)\n${journal.output}`);
    }
    parts.push(`----- console\n${tail(await this.console(), 40)}`);
    return parts.join("\n");
  }
}

/** Hard-links the .deb files of one directory into another (copies across file systems); never overwrites. */
async function linkDebs(from: string, to: string): Promise<void> {
  const script = `for f in "$1"/*.deb; do [ -e "$f" ] || continue; [ -e "$2/\${f##*/}" ] || ln "$f" "$2/" 2>/dev/null || cp "$f" "$2/"; done`;
  await run("sh", ["-c", script, "link-debs", from, to]);
}

/** The container's init: the child of systemd-nspawn that runs systemd. */
async function findInit(nspawnPid: number): Promise<number | undefined> {
  const children = await readFile(`/proc/${nspawnPid}/task/${nspawnPid}/children`, "utf8").catch(() => "");
  for (const pid of children.trim().split(/\s+/).filter(Boolean).map(Number)) {
    const comm = (await readFile(`/proc/${pid}/comm`, "utf8").catch(() => "")).trim();
    if (comm === "systemd") return pid;
  }
  return undefined;
}
