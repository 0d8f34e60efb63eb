import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, beforeEach } from "vitest";
import { runCheckAlarms } from "../../../scripts/check-alarms.js";
import {
  RDS,
  baseEnvironment,
  cleanupSynthDirs,
  projectRoot,
  resources,
  synth,
  type SynthResult,
} from "../../infra/synth-helpers.js";
import { CatalogueStandIn } from "./catalogue-stand-in.js";

/**
 * `npm run check:alarms` against REAL synthesized stacks (single server with RDS, and the cluster)
 * and the local stand-in for CloudMonitor's catalogue (catalogue-stand-in.ts).
 */
export interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

/** The real CLI as a user runs it, in a child process (async, so the stand-in keeps serving). */
export function runCli(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      "npx",
      ["tsx", "scripts/check-alarms.ts", ...args],
      { cwd: projectRoot, timeout: 60_000 },
      (error, stdout, stderr) => {
        const status = error ? (typeof error.code === "number" ? error.code : -1) : 0;
        resolve({ status, stdout, stderr });
      },
    );
  });
}

/** The same command in this process (faster; same code path from arguments to exit status). */
export async function runInProcess(args: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const status = await runCheckAlarms(args, { out: (l) => out.push(l), err: (l) => err.push(l) }, projectRoot);
  return { status, stdout: out.map((l) => `${l}\n`).join(""), stderr: err.map((l) => `${l}\n`).join("") };
}

export const lines = (text: string, prefix: string) => text.split("\n").filter((l) => l.startsWith(prefix));

const ALERTS = { email: "oncall@example.com" };

export interface CheckAlarmsFixture {
  standIn: CatalogueStandIn;
  /** Two stacks with alarms: dev (single server, RDS) and prod (cluster). */
  withAlarms: SynthResult;
  /** `<stack> <rule_name>` of every rule in the synthesized JSON, read without the code under test. */
  expectedRules: string[];
  /** The arguments that check the synthesized stacks against the stand-in. */
  against(): string[];
  /** A scratch directory, removed after the file's tests. */
  tempDir(): string;
}

/** Starts the stand-in and synthesizes the stacks for the file's tests; resets the stand-in before each. */
export function useCheckAlarmsFixture(): CheckAlarmsFixture {
  const scratch: string[] = [];
  const fixture: CheckAlarmsFixture = {
    standIn: new CatalogueStandIn(),
    withAlarms: undefined as unknown as SynthResult,
    expectedRules: [],
    against: () => ["--out", fixture.withAlarms.outdir, "--catalogue-url", fixture.standIn.endpoint],
    tempDir: () => {
      const dir = mkdtempSync(path.join(tmpdir(), "check-alarms-"));
      scratch.push(dir);
      return dir;
    },
  };
  beforeAll(async () => {
    await fixture.standIn.start();
    fixture.withAlarms = await synth({
      environments: {
        dev: baseEnvironment({ database: RDS, alerts: ALERTS }),
        prod: baseEnvironment({ topology: "cluster", database: RDS, alerts: ALERTS }),
      },
    });
    fixture.expectedRules = Object.entries(fixture.withAlarms.stacks)
      .flatMap(([stack, tf]) =>
        resources(tf, "volcengine_cloud_monitor_rule").map((r) => `${stack} ${r.rule_name as string}`),
      )
      .sort();
  });
  afterAll(async () => {
    await fixture.standIn.close();
    cleanupSynthDirs();
    for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => fixture.standIn.reset());
  return fixture;
}
