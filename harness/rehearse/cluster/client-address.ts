import { request } from "node:http";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { StepLog } from "../steps.js";
import type { ClusterWorld } from "./world.js";

/**
 * A client's rate-limit budget, shared by every server behind the load balancer, and the client's
 * address as the app records it. The client sends from an address of its own (a second address on
 * the host's end of the uplink), so its budget is fresh and its address is unmistakable: the app
 * keys the counter by the address it resolved from X-Forwarded-For through CLB and Nginx, and that
 * key, read back from RDS, must be the client's, not the load balancer's or Nginx's.
 */
export async function expectSharedBudgetAndClientAddress(world: ClusterWorld, log: StepLog): Promise<void> {
  const client = await world.vpc.addHostAddress(5);
  // Counters are per minute: start early in one, so the whole burst counts against one window.
  if (new Date().getUTCSeconds() > 45) await sleep((61 - new Date().getUTCSeconds()) * 1000);
  const statuses: number[] = [];
  let limit = 0;
  for (let n = 0; n < 40 && !statuses.includes(429); n++) {
    const reply = await login(world.vpc.loadBalancerEip, client, `nobody_${world.o.id}`, "wrong-password-1");
    statuses.push(reply.status);
    limit = Number(reply.headers["ratelimit-limit"] ?? limit);
  }
  log.info(`login attempts from ${client}: ${statuses.join(" ")} (RateLimit-Limit ${limit})`);
  if (!limit) throw new Error("the login route sent no RateLimit-Limit header");
  const refusedAt = statuses.indexOf(429);
  if (refusedAt !== limit) throw new Error(`the ${limit + 1}th attempt was not the first 429 (statuses ${statuses})`);

  // Which server answered each attempt (HAProxy's log: client, then backend/server).
  const haproxyLog = await readFile(join(world.o.runDir, "lb", "haproxy.log"), "utf8");
  const served: Record<string, number> = {};
  for (const line of haproxyLog.split("\n")) {
    const m = new RegExp(
      `^${client.replace(/\./g, "\\.")}:\\d+ .* server_group/(\\S+) .*"POST /api/v1/auth/token`,
    ).exec(line);
    if (m) served[m[1]!] = (served[m[1]!] ?? 0) + 1;
  }
  log.info(`answered by ${JSON.stringify(served)}`);
  if (Object.keys(served).length < 2) throw new Error("the attempts did not reach more than one server");

  const keys = (
    await world.rds.sql(
      `\\c ${world.stack.rds.databaseName}\nselect distinct key from rate_limit_buckets where key like 'login:%' order by 1`,
    )
  ).split("\n");
  log.info(`rate-limit keys in RDS: ${keys.join(", ")}`);
  if (!keys.includes(`login:${client}`))
    throw new Error(`no counter for login:${client}: the app did not see the client`);
  const proxies = keys.filter((k) => /login:(127\.|100\.6[4-9]|100\.[7-9]\d|100\.1[01]\d|100\.12[0-7])/.test(k));
  if (proxies.length > 0) throw new Error(`counters keyed by a proxy's address: ${proxies.join(", ")}`);
}

function login(host: string, localAddress: string, username: string, password: string) {
  const body = new URLSearchParams({ username, password }).toString();
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined> }>((resolve, reject) => {
    const req = request(
      {
        host,
        port: 80,
        method: "POST",
        path: "/api/v1/auth/token",
        localAddress,
        agent: false,
        timeout: 15_000,
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          "content-length": String(Buffer.byteLength(body)),
        },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("no answer within 15 s")));
    req.on("error", reject);
    req.end(body);
  });
}
