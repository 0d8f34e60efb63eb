import { createServer, request, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireTools } from "../support/tools.js";
import { NginxUnderTest } from "./nginx-under-test.js";

const tools = requireTools("nginx", "openssl");

/** A request from a chosen loopback address (Linux routes all of 127/8 to lo): a client "elsewhere". */
function from(localAddress: string, port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, localAddress, agent: false }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode!, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

function upstream(port: number): Promise<Server> {
  const server = createServer((req, res) => res.end(JSON.stringify({ reached: req.url })));
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve(server)));
}

/**
 * The admin console through the rendered Nginx site: /admin only for the allowed networks (the
 * stack's adminConsole.allowCidrs, by default ssh.adminCidrs) and 127.0.0.1 (an SSH tunnel); the API
 * for everyone.
 */
describe.skipIf(tools.missing)("Nginx serves /admin only to the admin networks", () => {
  const nginx = new NginxUnderTest();
  const apps: Server[] = [];

  beforeAll(async () => {
    await nginx.prepare({ environment: "dev", databaseMode: "local", adminConsoleCidrs: ["127.0.0.3/32"] }, "http");
    for (const port of nginx.appPorts) apps.push(await upstream(port));
  });
  afterAll(async () => {
    await nginx.stop();
    await Promise.all(apps.map((s) => new Promise((r) => s.close(r))));
  });

  it("passes nginx -t", () => {
    const r = nginx.test();
    expect(r.stderr).toContain("test is successful");
    expect(r.status).toBe(0);
  });

  it("an allowed network and an SSH tunnel reach the console; anyone else gets 403 from Nginx, for every spelling of the path", async () => {
    await nginx.start();
    for (const path of ["/admin", "/admin/", "/admin/users?q=x", "/admin/static/admin.css"]) {
      expect((await from("127.0.0.3", nginx.httpPort, path)).status, path).toBe(200);
      expect((await from("127.0.0.1", nginx.httpPort, path)).status, path).toBe(200);
    }
    for (const path of [
      "/admin",
      "/admin/",
      "/admin/login",
      "/%61dmin/login",
      "//admin/users",
      "/admin/../admin/users",
    ]) {
      const denied = await from("127.0.0.2", nginx.httpPort, path);
      expect(denied.status, path).toBe(403);
      expect(denied.body, path).not.toContain("reached");
    }
    // The API, and paths that only start like it, are for everyone.
    for (const path of ["/api/v1/todos", "/administrator", "/healthz"])
      expect((await from("127.0.0.2", nginx.httpPort, path)).status, path).toBe(200);
  });
});

describe.skipIf(tools.missing)("a host without admin networks (set up before the console existed)", () => {
  const nginx = new NginxUnderTest();
  const apps: Server[] = [];
  beforeAll(async () => {
    await nginx.prepare({ environment: "dev", databaseMode: "local" }, "http");
    for (const port of nginx.appPorts) apps.push(await upstream(port));
    await nginx.start();
  });
  afterAll(async () => {
    await nginx.stop();
    await Promise.all(apps.map((s) => new Promise((r) => s.close(r))));
  });

  it("serves the console to an SSH tunnel only", async () => {
    expect(nginx.test().status).toBe(0);
    expect((await from("127.0.0.1", nginx.httpPort, "/admin/login")).status).toBe(200);
    expect((await from("127.0.0.3", nginx.httpPort, "/admin/login")).status).toBe(403);
    expect((await from("127.0.0.3", nginx.httpPort, "/api/v1/todos")).status).toBe(200);
  });
});
