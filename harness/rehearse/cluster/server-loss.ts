import { setTimeout as sleep } from "node:timers/promises";
import type { StepLog } from "../steps.js";
import type { TrafficFigures } from "./measure.js";
import type { AppServer, ClusterWorld } from "./world.js";

/**
 * A server leaving while traffic flows, three ways:
 *  - planned: taken out of the load balancer's group first (CLB: weight 0 or removed from the
 *    server group), its requests in flight finished, then its app stopped and started again, then
 *    back in the group: no request fails;
 *  - its app stopped without warning (a crash that does not come back): requests the load balancer
 *    sends there fail until its health checks take the server out;
 *  - the whole server stopped without warning (its power cut): the same.
 * The last two cannot be 0 while the load balancer never resends a request that reached a server
 * (the assumption for CLB, see load-balancer.ts); they report how many failed and for how long.
 */
export async function runServerLoss(world: ClusterWorld, traffic: TrafficFigures, log: StepLog): Promise<void> {
  const server = world.servers.find((s) => s.index === 2)!;
  const units = await appUnits(server);
  const others = world.servers.filter((s) => s !== server).map((s) => s.name);
  /** How often each other server went DOWN in the load balancer (HAProxy's chkdown): must not change. */
  const downs = async () => Promise.all(others.map(async (name) => `${name}:${await world.lb.stat(name, 22)}`));
  const othersStayUp = async (body: () => Promise<void>) => {
    // Every step starts with every server answering and UP in the group (no state left from the last).
    await serverReady(server);
    for (const s of world.servers) await world.lb.waitForState(s.name, "UP", 60_000);
    const before = await downs();
    await body();
    const after = await downs();
    if (after.join() !== before.join())
      throw new Error(`another server went down meanwhile (health check downs ${before} → ${after})`);
  };

  await log.check(`cluster: ${server.name} drained from the CLB, its app stopped and started: 0 failed`, async () => {
    await traffic.measure("planned stop of one server's app (drained first)", () =>
      othersStayUp(async () => {
        await sleep(3_000);
        await world.lb.drain(server.name);
        await server.box.exec(`systemctl stop ${units}`);
        await sleep(3_000);
        await startUnits(server, units);
        // While the app was stopped, the load balancer's health checks through this server's Nginx
        // failed and marked every instance failed (max_fails), which Nginx keeps for fail_timeout
        // even once they are back. A reload starts workers with no such memory; on a server out of
        // the group it closes nothing a client uses.
        await server.box.exec("systemctl reload nginx");
        await serverReady(server);
        await world.lb.undrain(server.name);
        const ms = await world.lb.waitForState(server.name, "UP", 60_000);
        log.info(`${server.name} back in the group, UP after ${ms} ms`);
        await sleep(3_000);
      }),
    );
  });

  await log.check(`cluster: ${server.name}'s app stopped without warning, until the CLB takes it out`, async () => {
    const report = await traffic.measure(
      "one server's app stopped unannounced",
      () =>
        othersStayUp(async () => {
          await sleep(3_000);
          const stopped = Date.now();
          await server.box.exec(`systemctl stop ${units}`);
          const ms = await world.lb.waitForState(server.name, "DOWN", 30_000);
          log.info(
            `the CLB took ${server.name} out ${Date.now() - stopped} ms after its app stopped (${ms} ms waited)`,
          );
          await sleep(3_000);
          await startUnits(server, units);
          await serverReady(server);
          await world.lb.waitForState(server.name, "UP", 60_000);
          await sleep(2_000);
        }),
      { mayFail: true },
    );
    log.info(`${report.failures} request(s) failed while the CLB still sent requests to the stopped app`);
  });

  await log.check(`cluster: ${server.name} loses power, until the CLB takes it out`, async () => {
    const report = await traffic.measure(
      "one server losing power",
      () =>
        othersStayUp(async () => {
          await sleep(3_000);
          const stopped = Date.now();
          await world.cutPower(server);
          const ms = await world.lb.waitForState(server.name, "DOWN", 60_000);
          log.info(
            `the CLB took ${server.name} out ${Date.now() - stopped} ms after its power was cut (${ms} ms waited)`,
          );
          await sleep(2_000);
        }),
      { mayFail: true },
    );
    log.info(`${report.failures} request(s) failed while the CLB still sent requests to the stopped server`);
    await server.box.boot();
    const ms = await world.lb.waitForState(server.name, "UP", 180_000);
    log.info(`${server.name} booted again and back in service after ${ms} ms`);
  });
}

/** The server's /readyz answers 200 through its Nginx and from every app instance (all started, database reachable). */
async function serverReady(server: AppServer): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    // Nginx's /readyz and each instance's own (Nginx answers while one instance is still starting).
    const probe = await server.box.exec(
      "set -e; curl -fsS -o /dev/null -m 5 http://127.0.0.1/readyz; " +
        "for p in $(systemctl list-units --plain --no-legend 'todo-api@*.service' | sed -n 's/^todo-api@\\([0-9]*\\)\\.service.*/\\1/p'); do " +
        "curl -fsS -o /dev/null -m 5 http://127.0.0.1:$p/readyz; done; " +
        // Nginx keeps an instance that failed out for fail_timeout even once it is back: the API
        // through Nginx must reach the app (401 without a token, not Nginx's 503), several times.
        'for i in 1 2 3 4 5 6; do [ "$(curl -s -o /dev/null -m 5 -w "%{http_code}" http://127.0.0.1/api/v1/users/me)" = 401 ]; done',
      { allowFailure: true },
    );
    if (probe.code === 0) return;
    if (Date.now() > deadline) throw new Error(`${server.name}: /readyz did not answer 200 within 120 s`);
    await sleep(250);
  }
}

/** Starts the app's units; when systemd refuses, the error carries what their journal says. */
async function startUnits(server: AppServer, units: string): Promise<void> {
  // Sockets first: a service started before its socket binds the port itself, and the socket then
  // refuses to start ("Socket service … already active").
  const sockets = units.split(" ").filter((u) => u.endsWith(".socket"));
  const services = units.split(" ").filter((u) => !u.endsWith(".socket"));
  const command = [sockets, services]
    .filter((group) => group.length > 0)
    .map((group) => `systemctl start ${group.join(" ")}`)
    .join(" && ");
  const r = await server.box.exec(command, { timeoutMs: 120_000, allowFailure: true });
  if (r.code === 0) return;
  const why = await server.box.exec(
    `systemctl --no-pager status ${units} 2>&1 | tail -40; journalctl --no-pager -n 40 -u 'todo-api@*' 2>&1`,
    { allowFailure: true },
  );
  throw new Error(`systemctl start ${units} failed:\n${r.output}\n${why.output}`);
}

async function appUnits(server: AppServer): Promise<string> {
  // Every unit of the app's instances (a listening socket unit too, where systemd holds the socket:
  // stopping only the service would let the socket start it again).
  const list = await server.box.exec("systemctl list-units --plain --no-legend 'todo-api@*' | awk '{print $1}'");
  const units = list.stdout.trim().split("\n").filter(Boolean);
  if (units.length === 0) throw new Error(`${server.name} runs no todo-api@ instance`);
  return units.join(" ");
}
