import { readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireTools } from "../support/tools.js";
import { NginxUnderTest, send } from "./nginx-under-test.js";

const nginxTools = requireTools("nginx");

function instance(port: number): Promise<Server> {
  const server = createServer((_req, res) => res.end(JSON.stringify({ port })));
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve(server)));
}

/**
 * A server runs one Nginx worker per CPU (Debian's `worker_processes auto`). What Nginx learns about
 * the app instances (max_fails) must hold for every worker: when each kept its own, a worker that
 * had counted the health checks' failures before the instances existed went on answering 502 "no
 * live upstreams" after the others had found them well and a load balancer sent the server traffic.
 * Here two workers share the listening port (`reuseport`: the kernel spreads new connections over
 * them), three requests fail on both instances, and the instances come up at once.
 */
describe.skipIf(nginxTools.missing)("Nginx's workers share what they learn about the app instances", () => {
  const nginx = new NginxUnderTest();
  const apps: Server[] = [];

  beforeAll(async () => {
    await nginx.prepare({ environment: "dev", databaseMode: "local" }, "http");
    const conf = join(nginx.dir, "nginx.conf");
    writeFileSync(conf, `worker_processes 2;\n${readFileSync(conf, "utf8")}`);
    const site = join(nginx.dir, "sites/todo-api.conf");
    const listen = `listen 127.0.0.1:${nginx.httpPort} default_server;`;
    const text = readFileSync(site, "utf8");
    expect(text).toContain(listen);
    writeFileSync(site, text.replace(listen, listen.replace(" default_server;", " default_server reuseport;")));
    await nginx.start();
  });
  afterAll(async () => {
    await nginx.stop();
    await Promise.all(apps.map((s) => new Promise((r) => s.close(r))));
  });

  it("three failures through any worker take the instances out for every worker, and one worker's success brings them back for all", async () => {
    for (let i = 0; i < 3; i++) expect((await send(nginx.httpPort, "/readyz")).status).toBe(503);
    for (const port of nginx.appPorts) apps.push(await instance(port));

    // Shared memory: every worker holds both instances failed for fail_timeout, whichever worker
    // counted the failures (with a memory per worker, the workers that counted fewer than three
    // would send these requests to the instances, which now answer).
    const during = await Promise.all(Array.from({ length: 20 }, () => send(nginx.httpPort, "/api/v1/todos")));
    expect(during.map((r) => r.status)).toEqual(Array(20).fill(503));

    // After fail_timeout (10 s) one request tests an instance and it answers: from then on every
    // worker sends to the instances again.
    let first = 0;
    for (let waited = 0; waited < 15_000 && first !== 200; waited += 500) {
      await sleep(500);
      first = (await send(nginx.httpPort, "/api/v1/todos")).status;
    }
    expect(first).toBe(200);
    const after = await Promise.all(Array.from({ length: 20 }, () => send(nginx.httpPort, "/api/v1/todos")));
    expect(after.map((r) => r.status)).toEqual(Array(20).fill(200));
  }, 30_000);
});
