/**
 * The auto-scaling units (cloud-init/systemd/todo-seed.*, todo-fleet-sync.*) and todo-setup's step
 * that enables them, or stops them once the kit removed them.
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseCloudInitOptions } from "../../cloud-init/options.js";
import { renderHostConf } from "../../cloud-init/host-conf.js";
import { renderedFiles, run, SHELL_LIBRARY_ENV } from "./helpers.js";
import { fleetMember, seedServer } from "./fleet-variants.js";
import { requireTool } from "../support/tools.js";

const dir = mkdtempSync(join(tmpdir(), "todo-fleet-units-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const hostConf = renderHostConf(parseCloudInitOptions(seedServer));

describe("todo-setup's fleet step", () => {
  const work = mkdtempSync(join(dir, "setup-"));
  const units = join(work, "units");
  const calls = join(work, "systemctl.log");
  mkdirSync(join(units, "timers.target.wants"), { recursive: true });
  // systemctl's stand-in records each call; `is-active` answers from ACTIVE (the unit names active).
  mkdirSync(join(work, "bin"));
  writeFileSync(
    join(work, "bin/systemctl"),
    `#!/bin/sh\necho "$*" >>"${calls}"\nif [ "$1" = is-active ]; then case " $ACTIVE " in *" $3 "*) exit 0 ;; esac; exit 3; fi\nexit 0\n`,
  );
  chmodSync(join(work, "bin/systemctl"), 0o755);
  const setup = join(work, "todo-setup");
  writeFileSync(setup, renderedFiles(seedServer).get("/usr/local/sbin/todo-setup")!.content);
  writeFileSync(join(work, "host.conf"), hostConf);
  const fleetStep = (active = "") => {
    rmSync(calls, { force: true });
    const r = run("bash", [setup, "fleet"], {
      env: {
        ...SHELL_LIBRARY_ENV,
        PATH: `${join(work, "bin")}:${process.env.PATH}`,
        TODO_HOST_CONF: join(work, "host.conf"),
        TODO_UNIT_DIR: units,
        ACTIVE: active,
      },
    });
    expect(r.status, r.stderr).toBe(0);
    return { calls: existsSync(calls) ? readFileSync(calls, "utf8").trim().split("\n") : [], stderr: r.stderr };
  };

  it("enables and starts the timers whose units the kit installed", () => {
    writeFileSync(join(units, "todo-seed.timer"), "");
    expect(fleetStep().calls).toEqual([
      "enable --now --quiet todo-seed.timer",
      "is-active --quiet todo-fleet-sync.timer",
    ]);
  });

  it("disables a timer whose unit the kit removed, so a server that loses the option loses the timer", () => {
    rmSync(join(units, "todo-seed.timer"));
    // What systemd leaves: the enablement link to the unit file that is gone.
    symlinkSync(join(units, "todo-seed.timer"), join(units, "timers.target.wants/todo-seed.timer"));
    const r = fleetStep();
    expect(r.calls).toEqual([
      "disable --now --quiet todo-seed.timer",
      "reset-failed todo-seed.timer",
      "is-active --quiet todo-fleet-sync.timer",
    ]);
    expect(r.stderr).toContain("todo-seed.timer disabled (no longer configured)");
    expect(existsSync(join(units, "timers.target.wants/todo-seed.timer"))).toBe(false);
    // a timer running without the link (started by hand) is disabled too; then nothing is left to do
    expect(fleetStep("todo-fleet-sync.timer").calls).toEqual([
      "is-active --quiet todo-seed.timer",
      "is-active --quiet todo-fleet-sync.timer",
      "disable --now --quiet todo-fleet-sync.timer",
      "reset-failed todo-fleet-sync.timer",
    ]);
    expect(fleetStep().calls).toEqual(["is-active --quiet todo-seed.timer", "is-active --quiet todo-fleet-sync.timer"]);
  });
});

const systemdAnalyze = requireTool("systemd-analyze");

describe.skipIf(systemdAnalyze.missing)("the auto-scaling units", () => {
  const units = join(dir, "units-verify");
  mkdirSync(join(units, "sbin"), { recursive: true });
  const files = new Map([...renderedFiles(seedServer), ...renderedFiles(fleetMember)]);
  const unitFile = (name: string) => {
    const content = files.get(`/etc/systemd/system/${name}`)!.content.replaceAll("/usr/local/sbin/", `${units}/sbin/`);
    writeFileSync(join(units, name), content);
    return join(units, name);
  };
  for (const name of ["todo-seed", "todo-fleet-join"]) {
    writeFileSync(join(units, "sbin", name), files.get(`/usr/local/sbin/${name}`)!.content);
    chmodSync(join(units, "sbin", name), 0o755);
  }

  it("pass systemd-analyze verify", () => {
    const paths = ["todo-seed.service", "todo-seed.timer", "todo-fleet-sync.service", "todo-fleet-sync.timer"].map(
      unitFile,
    );
    const r = run("systemd-analyze", ["verify", "--man=no", ...paths]);
    // The OnFailure= handler exists only on a server.
    expect(r.stderr.split("\n").filter((l) => l && !/todo-api-alert@/.test(l))).toEqual([]);
    expect(r.status).toBe(0);
  });

  it("run every 30 s (the seed) and every minute with up to a minute's random delay (the sync), handing failures to the alert unit", () => {
    expect(files.get("/etc/systemd/system/todo-seed.timer")!.content).toMatch(/^OnUnitActiveSec=30s$/m);
    const sync = files.get("/etc/systemd/system/todo-fleet-sync.timer")!.content;
    expect(sync).toMatch(/^OnUnitActiveSec=60s$/m);
    expect(sync).toMatch(/^RandomizedDelaySec=60$/m);
    for (const name of ["todo-seed.service", "todo-fleet-sync.service"])
      expect(files.get(`/etc/systemd/system/${name}`)!.content).toMatch(/^OnFailure=todo-api-alert@%n\.service$/m);
  });

  it("sandbox the seed like the kit's other network units", () => {
    const text = run("systemd-analyze", [
      "security",
      "--offline=true",
      "--no-pager",
      unitFile("todo-seed.service"),
    ]).stdout;
    const overall = Number(/Overall exposure level for \S+: ([\d.]+)/.exec(text)?.[1]);
    console.log(`systemd-analyze security todo-seed.service: ${overall}`);
    expect(overall).toBeLessThanOrEqual(1.5);
  });
});
