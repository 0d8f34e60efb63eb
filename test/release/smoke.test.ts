import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runSmoke, type SmokeStep } from "../../scripts/smoke.js";
import { freePort } from "../cloud-init/helpers.js";

// The passing path runs against the real release in release.test.ts; here: what a failure reports.
describe("the smoke test reports what failed", () => {
  let server: Server;
  let base = "";
  beforeAll(async () => {
    const port = await freePort();
    server = createServer((req, res) => {
      res.setHeader("content-type", "application/json");
      if (req.url === "/healthz") return res.end('{"status":"ok"}');
      res.statusCode = 503;
      res.end('{"error":{"code":"unavailable","message":"database down"}}');
    });
    await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
    base = `http://127.0.0.1:${port}`;
  });
  afterAll(() => new Promise((r) => server.close(r)));

  it("stops at the first failing step with the status and body it got", async () => {
    const reported: SmokeStep[] = [];
    const result = await runSmoke(base, { report: (s) => reported.push(s) });
    expect(result.ok).toBe(false);
    expect(reported.map((s) => [s.name, s.ok])).toEqual([
      ["GET /healthz", true],
      ["GET /readyz (database reachable)", false],
    ]);
    expect(reported[1]!.detail).toContain("expected HTTP 200, got 503");
    expect(reported[1]!.detail).toContain("database down");
  });

  it("says when the server cannot be reached", async () => {
    const result = await runSmoke(`http://127.0.0.1:${await freePort()}`, { report: () => {} });
    expect(result.ok).toBe(false);
    expect(result.steps[0]!.detail).toMatch(/request failed: .*ECONNREFUSED/);
  });
});
