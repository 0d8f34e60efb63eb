/**
 * `npm run check:alarms` when it cannot check (endpoint, synthesized output or arguments wrong) and
 * when there is nothing to check.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { fetchNamespaceMetrics } from "../../../scripts/alarms/metric-catalogue.js";
import { baseEnvironment, synth } from "../../infra/synth-helpers.js";
import { runCli, runInProcess, useCheckAlarmsFixture } from "./fixture.js";

const fx = useCheckAlarmsFixture();
const { standIn } = fx;

describe("check:alarms cannot run", () => {
  it("the endpoint answering 500 exits 2 naming the URL and the status (real CLI)", async () => {
    standIn.mode = "500";
    const run = await runCli(fx.against());
    expect(run.status).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain(`POST ${standIn.endpoint} (Namespace `);
    expect(run.stderr).toContain("HTTP 500 Internal Server Error: upstream exploded");
    expect(run.stderr).toContain("--catalogue <file>");
  });

  it("a body that is not JSON, not the documented shape, or an API error exits 2 saying so", async () => {
    standIn.mode = "garbage";
    let run = await runInProcess(fx.against());
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("the body is not JSON: <html>login required</html>");

    standIn.mode = "wrong-shape";
    run = await runInProcess(fx.against());
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/not a ListMetricDocs response .*: Result\.Data: /);

    standIn.mode = "api-error";
    run = await runInProcess(fx.against());
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("the API answered with an error: InvalidAction: The action is not supported");

    standIn.mode = "catalogue";
    standIn.catalogue[0]!.TypeAlertEnable = "yes" as unknown as boolean;
    run = await runInProcess(fx.against());
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/Result\.Data\.\d+\.TypeAlertEnable: .*boolean/);
  });

  it("a wrong endpoint path, a closed port and a silent server are reported", async () => {
    let run = await runInProcess([
      "--out",
      fx.withAlarms.outdir,
      "--catalogue-url",
      standIn.endpoint.replace("/documents", "/docs"),
    ]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("HTTP 404");

    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    run = await runInProcess(["--out", fx.withAlarms.outdir, "--catalogue-url", `http://127.0.0.1:${port}/x`]);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/request failed: .*ECONNREFUSED/);

    standIn.mode = "hang";
    await expect(fetchNamespaceMetrics(standIn.endpoint, "VCM_ECS", 300)).rejects.toThrow(
      "request failed: no answer within 0.3 s",
    );
  });

  it("without synthesized stacks it says to run npm run synth first (real CLI)", async () => {
    const run = await runCli(["--out", path.join(fx.tempDir(), "cdktf.out"), "--catalogue-url", standIn.endpoint]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("run `npm run synth` first");
    expect(standIn.requests).toEqual([]);
  });

  it("unknown flags and conflicting options print the usage and exit 2", async () => {
    const run = await runCli(["--catalog", "x.json"]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("Unknown option '--catalog'");
    expect(run.stderr).toContain("usage: npm run check:alarms");

    const both = await runInProcess(["--catalogue", "x.json", "--catalogue-url", standIn.endpoint]);
    expect(both.status).toBe(2);
    expect(both.stderr).toContain("--catalogue and --catalogue-url exclude each other");

    const badUrl = await runInProcess(["--catalogue-url", "ftp://example.com/x"]);
    expect(badUrl.status).toBe(2);
    expect(badUrl.stderr).toContain("--catalogue-url: must be an http:// or https:// URL");
  });
});

describe("check:alarms without alarms", () => {
  it("says alarms are off and exits 0 when no stack has a rule", async () => {
    const off = await synth({ environments: { dev: baseEnvironment() } });
    const run = await runInProcess(["--out", off.outdir, "--catalogue-url", standIn.endpoint]);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain("alarms are off");
    expect(run.stdout).toContain("`alerts` not configured");
    expect(standIn.requests).toEqual([]);
  });
});
