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
 * Members join and leave the group as the stack's `volcengine_server_group_server` resources do,
 * through HAProxy's runtime API (no reload, so no client connection is closed by a change).
 */
export interface ListenerSpec {
  port: number;
  scheduler: string;
  healthCheck: HealthCheck;
}

/** The listener's `health_check` block, as synthesized. */
export interface HealthCheck {
  enabled: string;
  method?: string;
  uri: string;
  http_code?: string;
  interval: number;
  timeout: number;
  healthy_threshold: number;
  un_healthy_threshold: number;
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

  constructor(
    private readonly namespace: string,
    private readonly dir: string,
    private readonly listener: ListenerSpec,
    private readonly cleanup: Cleanup,
  ) {
    this.config = join(dir, "haproxy.cfg");
    this.socket = join(dir, "haproxy.sock");
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
      ...this.members.map((m) => `  server ${this.serverLine(m)}`),
      "",
    ].join("\n");
  }

  /**
   * Sets the group's members. The first call starts HAProxy; later ones change the running one
   * through its runtime API, as the CLB's API adds and removes servers of a group: a new member
   * is added and health-checked (it gets traffic once the checks pass), a removed one first gets
   * no new requests, then leaves once its requests in flight have finished.
   */
  async setMembers(members: Member[]): Promise<void> {
    const before = this.members;
    this.members = members;
    await writeFile(this.config, this.render());
    await run("haproxy", ["-c", "-q", "-f", this.config]);
    if (!this.process) return this.start();
    for (const m of members.filter((m) => !before.some((b) => b.name === m.name))) {
      await this.expectOk(`add server server_group/${this.serverLine(m)}`);
      await this.expectOk(`enable health server_group/${m.name}`);
      await this.expectOk(`enable server server_group/${m.name}`);
    }
    for (const b of before.filter((b) => !members.some((m) => m.name === b.name))) {
      await this.drain(b.name);
      await this.expectOk(`set server server_group/${b.name} state maint`);
      await this.expectOk(`del server server_group/${b.name}`);
    }
  }

  /** No new requests to the member (the CLB's weight 0); resolves once none is in flight. */
  async drain(name: string, timeoutMs = 30_000): Promise<void> {
    await this.expectOk(`set server server_group/${name} state drain`);
    const deadline = Date.now() + timeoutMs;
    while ((await this.stat(name, 4)) !== "0") {
      if (Date.now() > deadline) throw new Error(`${name} still has requests after ${timeoutMs / 1000} s of draining`);
      await sleep(100);
    }
  }

  /** Back to taking requests (once its health checks pass). */
  async undrain(name: string): Promise<void> {
    await this.expectOk(`set server server_group/${name} state ready`);
  }

  private async expectOk(line: string): Promise<void> {
    const answer = (await this.command(line)).trim();
    // Commands that succeed answer nothing, or a line saying so ("New server registered.").
    if (/error|unknown|not found|cannot|failed|require/i.test(answer)) throw new Error(`HAProxy: ${line}: ${answer}`);
  }

  private async start(): Promise<void> {
    const log = openSync(join(this.dir, "haproxy.log"), "a");
    const child = spawn("ip", ["netns", "exec", this.namespace, "haproxy", "-db", "-f", this.config], {
      stdio: ["ignore", log, log],
    });
    closeSync(log);
    this.process = child;
    this.cleanup.add("HAProxy", () => this.stop());
    const deadline = Date.now() + 10_000;
    while ((await this.command("show info").catch(() => "")) === "") {
      if (child.exitCode !== null)
        throw new Error(`HAProxy exited with ${child.exitCode} (see ${this.dir}/haproxy.log)`);
      if (Date.now() > deadline) throw new Error("HAProxy did not open its stats socket within 10 s");
      await sleep(100);
    }
  }

  /** A field of a member's line in `show stat` (4: current sessions, 7: total, 17: status). */
  async stat(name: string, field: number): Promise<string | undefined> {
    const csv = await this.command("show stat");
    for (const line of csv.split("\n")) {
      const f = line.split(",");
      if (f[0] === "server_group" && f[1] === name) return f[field];
    }
    return undefined;
  }

  /** A member with the listener's health check (dynamic servers do not inherit default-server). */
  private serverLine(m: Member): string {
    const hc = this.listener.healthCheck;
    return (
      `${m.name} ${m.address}:${m.port} weight ${m.weight} check inter ${Number(hc.interval)}s ` +
      `rise ${Number(hc.healthy_threshold)} fall ${Number(hc.un_healthy_threshold)}`
    );
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
        throw new Error(
          `${name} is ${state ?? "absent"} in the load balancer after ${timeoutMs / 1000} s, not ${wanted}`,
        );
      await sleep(200);
    }
  }

  async stop(): Promise<void> {
    const child = this.process;
    // Gone already (a Ctrl-C reaches HAProxy too: it then has a signal, not an exit code; or it
    // stopped on its own): "exit" will not come again.
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    await new Promise((resolve) => child.once("exit", resolve));
  }
}
