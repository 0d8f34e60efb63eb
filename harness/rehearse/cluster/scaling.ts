import { setTimeout as sleep } from "node:timers/promises";
import type { Release } from "../releases.js";
import { releaseStatus } from "../server-checks.js";
import type { StepLog } from "../steps.js";
import type { TrafficFigures } from "./measure.js";
import type { ClusterWorld } from "./world.js";

/**
 * `cluster.servers` 2 → 3 and back, under traffic, as `cdktf deploy` does it: a third instance
 * boots from its user data, its deploy step runs (only that one: the others' triggers did not
 * change), and it joins the group once deployed; then it leaves the group, its requests finish,
 * and the instance is deleted.
 */
export async function runScaling(
  world: ClusterWorld,
  release: Release,
  traffic: TrafficFigures,
  log: StepLog,
): Promise<void> {
  await log.check("cluster: scale 2 → 3 under traffic (boots, deploys, passes health checks, serves)", () =>
    traffic
      .measure("scale 2 → 3", async () => {
        await world.synth(release, 3);
        await world.bootMachines([3]);
        const output = await world.deploy();
        const created = output.split("\n").filter((l) => /Creation complete|Destruction complete/.test(l));
        log.info(created.join("\n"));
        if (created.length !== 1 || !created[0]!.includes("server-3"))
          throw new Error("the deploy step ran on other servers than the new one");
        const server = world.servers.find((s) => s.index === 3)!;
        const status = await releaseStatus(server.box);
        if (status.current !== release.hash) throw new Error(`app-3 runs ${status.current}, not ${release.hash}`);
        await world.syncLoadBalancer();
        const ms = await world.lb.waitForState("app-3", "UP", 60_000);
        log.info(`app-3 UP in the load balancer after ${ms} ms`);
        await sleep(5_000);
        const served = Number(await world.lb.stat("app-3", 7));
        log.info(`app-3 served ${served} request(s) in 5 s`);
        if (!(served > 0)) throw new Error("app-3 served nothing");
      })
      .then(() => undefined),
  );

  await log.check("cluster: scale 3 → 2 under traffic (leaves the group, then goes away)", () =>
    traffic
      .measure("scale 3 → 2", async () => {
        await sleep(3_000);
        await world.synth(release, 2);
        const output = await world.deploy();
        log.info(
          output
            .split("\n")
            .filter((l) => /Destruction complete|Apply complete/.test(l))
            .join("\n"),
        );
        await world.removeServer(3);
        await sleep(3_000);
      })
      .then(() => undefined),
  );
}
