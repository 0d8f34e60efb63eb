import { setTimeout as sleep } from "node:timers/promises";
import { FLEET_CURRENT_KEY, parseFleetPointer } from "../../../contract/fleet.js";
import type { Release } from "../releases.js";
import { releaseStatus } from "../server-checks.js";
import type { StepLog } from "../steps.js";
import type { FleetReach } from "./fleet-reach.js";
import type { TrafficFigures } from "./measure.js";
import type { Container } from "../container.js";
import type { ScaledInstance } from "./world-booter.js";
import type { ClusterWorld } from "./world.js";

/**
 * Auto scaling on the booted cluster, under write traffic through the CLB (0 failed in every step):
 *  1. the stack gains `cluster.autoScaling` (an existing cluster, as a user adds the option):
 *     Terraform's deploy step on server 1 publishes the release to fleet/ and installs the seed,
 *     and the step after the last fixed server moves fleet/current;
 *  2. the local cloud holds the stack's scaling resources and the enabler runs: the group (desired
 *     1) starts an instance, booted from the scaling configuration's user data; the SCALE_OUT hook
 *     holds it; the seed on server 1 associates the role and completes the hook; the server pulls
 *     the release with that role, deploys it, joins the server group (so HAProxy) and serves;
 *  3. a new release through the deploy step: fleet/current moves after the last fixed server, and
 *     the scaled-out server follows it (todo-fleet-sync);
 *  4. scale-in (desired 0): out of the server group first, held 60 s by the SCALE_IN hook, released.
 * An instance the seed does not admit is rejected by the hook's timeout (900 s in the stack, too long
 * for here; test/harness/fleet-cloud.test.ts proves it on the same stand-in with a moved clock).
 */
export const AUTO_SCALING = { minServers: 0, maxServers: 2, desiredServers: 1 };

/** Bounds: a scaled-out server boots like a fixed one (~80 s here), then pulls and deploys. */
const SERVING_WITHIN_MS = 10 * 60_000;
/** todo-fleet-sync: every 60 s with up to 60 s of delay, then a deploy. */
const SYNC_WITHIN_MS = 5 * 60_000;

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const got = await probe().catch(() => undefined);
    if (got !== undefined) return got;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms / 1000} s`);
    await sleep(1000);
  }
}

/** What the scaled-out server says about the requests it failed (its Nginx and app logs). */
async function evidence(box: Container | undefined, log: StepLog): Promise<void> {
  if (!box?.running) return;
  const out = await box.exec(
    `grep -h '"status":50' /var/log/nginx/*.access.log | tail -n 5; grep -v 'no live upstreams' /var/log/nginx/error.log | tail -n 15; grep -c 'no live upstreams' /var/log/nginx/error.log; journalctl --no-pager -o short-monotonic -n 30 -u 'todo-api@*' -u nginx -u 'todo-fleet-*' | grep -v '"level":30'`,
    { allowFailure: true, timeoutMs: 30_000 },
  );
  log.info(`the scaled-out server's logs:\n${out.output.trim()}`);
}

async function failIfAny(r: { failures: number }, box: Container | undefined, log: StepLog): Promise<void> {
  if (r.failures === 0) return;
  await evidence(box, log);
  throw new Error(`${r.failures} request(s) failed`);
}

export async function runAutoScaling(
  world: ClusterWorld,
  reach: FleetReach,
  releases: { current: Release; next: Release },
  traffic: TrafficFigures,
  log: StepLog,
): Promise<void> {
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

  await log.check("auto scaling: the stack gains the scaling group; server 1 publishes, the pointer moves", () =>
    traffic
      .measure("auto scaling: publish and point", async () => {
        await world.synth(releases.current, 2, AUTO_SCALING);
        if (!world.stack.scaling) throw new Error("cluster.autoScaling synthesized no scaling group");
        const fleet = await reach.startCloud();
        await reach.serveFixedServers();
        const output = await world.deploy();
        log.info(
          output
            .split("\n")
            .filter((l) => /Creation complete|Destruction complete|Apply complete|todo-fleet-publish/.test(l))
            .join("\n"),
        );
        const pointerText = reach.s3!.objects.get(FLEET_CURRENT_KEY)?.toString("utf8");
        if (!pointerText) throw new Error("fleet/current is not in the bucket after the deploy");
        const pointer = parseFleetPointer(pointerText);
        if (pointer.release !== releases.current.hash)
          throw new Error(
            `fleet/current names ${pointer.release}, not the release deployed (${releases.current.hash})`,
          );
        log.info(
          `fleet/current → ${pointer.release}; objects: ${[...reach.s3!.objects.keys()].filter((k) => k.startsWith("fleet/")).join(", ")}`,
        );
        const seed = await world.servers[0]!.box.exec("systemctl is-enabled todo-seed.timer", { allowFailure: true });
        log.info(`server 1: todo-seed.timer ${seed.stdout.trim() || "absent"}`);
        if (seed.stdout.trim() !== "enabled") throw new Error("the seed's timer is not enabled on server 1");
        log.info(`local cloud: scaling group ${fleet.groupId}, hooks ${[...fleet.hooks.keys()].join(", ")}`);
      })
      .then(() => undefined),
  );

  let scaled: ScaledInstance | undefined;
  await log.check(
    "auto scaling: the group starts a server; the hook holds it; the seed admits it; it pulls the release and serves",
    () =>
      traffic
        .measure(
          "auto scaling: scale-out 0 → 1",
          async () => {
            const fleet = reach.fleet!;
            const enabled = Date.now();
            await fleet.enable();
            reach.follow();
            const seen = new Set<string>();
            const inService = await until("an instance in service", SERVING_WITHIN_MS, async () => {
              const [instance] = await fleet.instances();
              if (!instance) return undefined;
              if (!seen.has(instance.Status)) {
                seen.add(instance.Status);
                log.info(`${instance.InstanceId}: ${instance.Status} after ${seconds(Date.now() - enabled)}`);
              }
              if (reach.booter.failures.length > 0) throw new Error(reach.booter.failures.join("; "));
              return instance.Status === "InService" ? instance : undefined;
            });
            if (!seen.has("Pending:Wait")) throw new Error("the SCALE_OUT hook never held the instance");
            scaled = reach.booter.instances.get(inService.InstanceId);
            if (!scaled?.box) throw new Error(`${inService.InstanceId} has no booted server`);
            const role = fleet.roleAt(scaled.address);
            log.info(`${scaled.name}: holds role ${role ?? "none"}`);
            if (!role) throw new Error("the admitted instance holds no role");
            const up = await world.lb.waitForState(scaled.name, "UP", 120_000);
            log.info(`${scaled.name}: UP in the load balancer ${seconds(up)} after it joined`);
            await sleep(5_000);
            const served = Number(await world.lb.stat(scaled.name, 7));
            log.info(
              `${scaled.name}: served ${served} request(s) in 5 s; from the request to serving: ${seconds(Date.now() - 5_000 - scaled.requestedAt)}`,
            );
            if (!(served > 0)) throw new Error(`${scaled.name} served nothing`);
            // The seed completes the hook once /readyz answers through Nginx: one app instance ready.
            // The deploy goes on with the others; it settles with every instance on the release.
            const box = scaled.box;
            const settled = await until(`${scaled.name}'s deploy settled`, 180_000, async () => {
              const status = await releaseStatus(box);
              return status.current === releases.current.hash ? Date.now() : undefined;
            });
            log.info(
              `${scaled.name}: every app instance on ${releases.current.hash} ${seconds(settled - scaled.requestedAt)} after RunInstances`,
            );
            const seedLog = await world.servers[0]!.box.exec(
              "journalctl -u todo-seed.service --no-pager -o cat -n 20",
              {
                allowFailure: true,
              },
            );
            log.info(`todo-seed on server 1:\n${seedLog.stdout.trim()}`);
          },
          { mayFail: true },
        )
        .then(async (r) => failIfAny(r, scaled?.box, log)),
  );

  await log.check("auto scaling: a new release reaches the scaled-out server after the last fixed one", () =>
    traffic
      .measure(
        "auto scaling: release to the fleet",
        async () => {
          if (!scaled?.box) throw new Error("no scaled-out server");
          await world.synth(releases.next, 2, AUTO_SCALING);
          const applied = Date.now();
          const output = await world.deploy();
          const deployed = Date.now();
          const order = output
            .split("\n")
            .filter((l) => /Creation complete/.test(l))
            .map((l) => l.trim());
          log.info(order.join("\n"));
          const pointer = parseFleetPointer(reach.s3!.objects.get(FLEET_CURRENT_KEY)?.toString("utf8") ?? "");
          if (pointer.release !== releases.next.hash)
            throw new Error(`fleet/current names ${pointer.release}, not the new release ${releases.next.hash}`);
          const synced = await until(`${scaled.name} on ${releases.next.hash}`, SYNC_WITHIN_MS, async () => {
            const status = await releaseStatus(scaled!.box!);
            return status.current === releases.next.hash ? Date.now() : undefined;
          });
          log.info(
            `${scaled.name}: runs ${releases.next.hash} ${seconds(synced - deployed)} after the apply ended (the apply took ${seconds(deployed - applied)})`,
          );
        },
        { mayFail: true },
      )
      .then(async (r) => failIfAny(r, scaled?.box, log)),
  );

  await log.check("auto scaling: scale-in 1 → 0 (out of the group, the SCALE_IN hold, released)", () =>
    traffic
      .measure("auto scaling: scale-in 1 → 0", async () => {
        if (!scaled) throw new Error("no scaled-out server");
        const fleet = reach.fleet!;
        const asked = Date.now();
        await fleet.setDesired(0);
        const left = await until("the instance out of the server group", 60_000, async () =>
          reach.changes.some((c) => c.at >= asked && !c.members.includes(scaled!.name)) ? Date.now() : undefined,
        );
        log.info(`${scaled.name}: out of the server group ${seconds(left - asked)} after desired 0`);
        const held = (await fleet.instances())[0];
        log.info(`${scaled.name}: ${held?.Status ?? "gone"} (the SCALE_IN hook)`);
        const removed = await until("the instance released", 180_000, async () =>
          scaled!.removedAt !== undefined && (await fleet.instances()).length === 0 ? scaled!.removedAt : undefined,
        );
        log.info(`${scaled.name}: released and deleted ${seconds(removed - asked)} after desired 0`);
        if (held?.Status !== "Removing:Wait") throw new Error(`the SCALE_IN hook did not hold it (${held?.Status})`);
        if (removed - left < 55_000) throw new Error("released before its 60 s hold ended");
        if (reach.booter.failures.length > 0) throw new Error(reach.booter.failures.join("; "));
      })
      .then(() => undefined),
  );
}
