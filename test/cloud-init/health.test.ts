import { execFile } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderedFiles, variants } from "./helpers.js";
import { requireTool } from "../support/tools.js";

const curl = requireTool("curl");

/**
 * The readiness check unit (<app>-health.service + timer) as rendered: its ExecStart is run here
 * against a stand-in for Nginx + the app on 127.0.0.1 (the port swapped in for 80).
 */
let status = 200;
let location = "";
let server: Server;
let port = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url !== "/readyz") return res.writeHead(404).end();
    res.writeHead(status, location ? { location } : {}).end("{}");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

function unit(variant: string, name: string): string {
  return renderedFiles(variants[variant]!).get(`/etc/systemd/system/todo-api-${name}`)!.content;
}

/** ExecStart of the unit, split like systemd does for this simple command line (no quotes). */
function execStart(text: string): string[] {
  const line = text.split("\n").find((l) => l.startsWith("ExecStart="))!;
  return line.slice("ExecStart=".length).trim().split(/\s+/);
}

function check(argv: string[]): Promise<{ status: number; stderr: string }> {
  const args = argv.slice(1).map((a) => a.replace("http://127.0.0.1/", `http://127.0.0.1:${port}/`));
  return new Promise((resolve) => {
    execFile(argv[0]!, args, (err, _stdout, stderr) => resolve({ status: err ? Number(err.code) : 0, stderr }));
  });
}

describe.skipIf(curl.missing)("the readiness check", () => {
  it("runs every minute, only once a release exists, and logs failures at priority err", () => {
    const timer = unit("local, no domain", "health.timer");
    expect(timer).toContain("OnUnitActiveSec=1min");
    const service = unit("local, no domain", "health.service");
    expect(service).toContain("ConditionPathExists=/opt/todo-api/current");
    expect(service).toContain("SyslogLevel=err");
    expect(service).toContain("DynamicUser=yes");
    expect(execStart(service).at(-1)).toBe("http://127.0.0.1/readyz");
  });

  it("passes on 200 and fails (unit failed) on 503 or when nothing answers", async () => {
    const argv = execStart(unit("local, no domain", "health.service"));
    status = 200;
    expect(await check(argv)).toEqual({ status: 0, stderr: "" });
    status = 503;
    const failed = await check(argv);
    expect(failed.status).not.toBe(0);
    expect(failed.stderr).toMatch(/503/);
    const down = await check(
      argv.map((a) => a.replace("http://127.0.0.1/", "http://127.0.0.1:9/").replace(`:${port}`, "")),
    );
    expect(down.status).not.toBe(0);
  });

  it("with a domain follows Nginx's redirect to HTTPS on this host, never to another scheme", async () => {
    const argv = execStart(unit("local, domain", "health.service"));
    expect(argv.join(" ")).toContain("--resolve api.example.com:443:127.0.0.1 ");
    // a redirect to plain HTTP elsewhere is refused (only https redirects are followed)
    status = 301;
    location = "http://198.51.100.1/readyz";
    const r = await check(argv);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/Protocol "http" not supported|protocol/i);
    location = "";
    status = 200;
  });
});
