import { spawn, type ChildProcess } from "node:child_process";
import { openSync, closeSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { createConnection } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Cleanup } from "../cleanup.js";
import { run } from "../shell.js";

/**
 * The CLB: HAProxy from Debian's packages, in the load balancer's namespace, configured from the
 * synthesized HTTP listener and server group:
 *  - the listener's port; its scheduler (`wlc`, weighted least connections → `balance leastconn`
 *    with each member's weight);
 *  - its health check: method, URI, expected codes (`http_2xx`), interval, timeout and the
 *    healthy/unhealthy thresholds (`rise`/`fall`);
 *  - `X-Forwarded-For` added, as CLB's layer-7 listeners do;
 *  - a request is never sent twice (`retries 0`, no redispatch): Volcengine does not document
 *    that CLB resends anything, so the rehearsal assumes the strictest behaviour, under which a
 *    request sent to a server that has just gone away fails for the client;
 *  - no connection drain (the listener sets none): a member leaving the group keeps the requests
 *    already on it until they finish, and gets no new ones.
 * Members join and leave the group as the stack's `volcengine_server_group_server` resources do;
 * each change reloads HAProxy without dropping connections (`-sf`).
 */
export interface ListenerSpec {
  port: number;
  scheduler: string;
  healthCheck: Record<string, any>;
}

export interface Member {
  name: string;
  address: string;
  port: number;
  weight: number;
}

export class LoadBalancer {
  private process: ChildProcess | undefined;
  private members: Member[] = [];
  private readonly config: string;
  private readonly socket: string;
  private readonly pidFile: string;

  constructor(
    private readonly namespace: string,
    private readonly dir: string,
    private readonly listener: ListenerSpec,
    private readonly cleanup: Cleanup,
  ) {
    this.config = join(dir, "haproxy.cfg");
    this.socket = join(dir, "haproxy.sock");
    this.pidFile = join(dir, "haproxy.pid");
  }

  render(): string {
    const hc = this.listener.healthCheck;
    if (hc.enabled !== "on") throw new Error("the listener's health check is not enabled");
    const codes = /^http_(\d)xx$/.exec(String(hc.http_code ?? "http_2xx"));
    if (!codes) throw new Error(`health check http_code ${hc.http_code} is not one class of codes`);
    if (this.listener.scheduler !== "wlc") throw new Error(`scheduler ${this.listener.scheduler} is not rehearsed`);
    return [
      "global",
      `  stats socket ${this.socket} mode 600 level admin`,
      "  maxconn 4096",
      "defaults",
      "  mode http",
      "  option httplog",
      "  log stdout format raw local0",
      "  option forwardfor",
      "  retries 0",
      "  timeout connect 5s",
      "  timeout client 60s",
      "  timeout server 60s",
      "  timeout http-keep-alive 15s",
      "frontend listener",
      `  bind :${this.listener.port}`,
      "  default_backend server_group",
      "backend server_group",
      "  balance leastconn",
      `  option httpchk ${hc.method ?? "GET"} ${hc.uri}`,
      `  http-check expect rstatus ^${codes[1]}[0-9][0-9]$`,
      `  timeout check ${Number(hc.timeout)}s`,
      `  default-server inter ${Number(hc.interval)}s rise ${Number(hc.healthy_threshold)} fall ${Number(hc.un_healthy_threshold)}`,
      ...this.members.map((m) => `  server ${m.name} ${m.address}:${m.port} weight ${m.weight} check`),
      "",
    ].join("\n");
  }

  /** Sets the group's members and (re)loads HAProxy; a reload keeps established connections. */
  async setMembers(members: Member[]): Promise<void> {
    this.members = members;
    await writeFile(this.config, this.render());
    await run("haproxy", ["-c", "-q", "-f", this.config]);
    const previous = this.process;
    const log = openSync(join(this.dir, "haproxy.log"), "a");
    const child = spawn(
      "ip",
      [
        "netns",
        "exec",
        this.namespace,
        "haproxy",
        "-db",
        "-f",
        this.config,
        "-p",
        this.pidFile,
        ...(previous?.pid ? ["-sf", String(await this.haproxyPid())] : []),
      ],
      { stdio: ["ignore", log, log] },
    );
    closeSync(log);
    this.process = child;
    if (!previous) this.cleanup.add("HAProxy", () => this.stop());
    const deadline = Date.now() + 10_000;
    while ((await this.command("show info").catch(() => "")) === "" || !(await this.isNewest(child))) {
      if (child.exitCode !== null) throw new Error(`HAProxy exited with ${child.exitCode} (see ${this.dir}/haproxy.log)`);
      if (Date.now() > deadline) throw new Error("HAProxy did not open its stats socket within 10 s");
      await sleep(100);
    }
  }

  private async haproxyPid(): Promise<number> {
    return Number((await run("cat", [this.pidFile])).stdout.trim());
  }

  private async isNewest(child: ChildProcess): Promise<boolean> {
    // `ip netns exec` execs haproxy, so the child's pid is HAProxy's.
    const info = await this.command("show info").catch(() => "");
    return new RegExp(`^Pid: ${child.pid}$`, "m").test(info);
  }

  /** A command on HAProxy's runtime API (the stats socket). */
  command(line: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(this.socket);
      let out = "";
      socket.on("connect", () => socket.end(`${line}\n`));
      socket.on("data", (d) => (out += d.toString()));
      socket.on("end", () => resolve(out));
      socket.on("error", reject);
    });
  }

  /** Each member's state as the health checks see it: "UP", "DOWN", "MAINT", ... */
  async states(): Promise<Record<string, string>> {
    const csv = await this.command("show stat");
    const states: Record<string, string> = {};
    for (const line of csv.split("\n")) {
      const f = line.split(",");
      if (f[0] === "server_group" && f[1] && f[1] !== "BACKEND") states[f[1]] = f[17]!.split(" ")[0]!;
    }
    return states;
  }

  async waitForState(name: string, wanted: string, timeoutMs: number): Promise<number> {
    const start = Date.now();
    for (;;) {
      const state = (await this.states())[name];
      if (state === wanted) return Date.now() - start;
      if (Date.now() - start > timeoutMs)
        throw new Error(`${name} is ${state ?? "absent"} in the load balancer after ${timeoutMs / 1000} s, not ${wanted}`);
      await sleep(200);
    }
  }

  async stop(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null) return;
    child.kill("SIGTERM");
    await new Promise((resolve) => child.once("exit", resolve));
  }
}
