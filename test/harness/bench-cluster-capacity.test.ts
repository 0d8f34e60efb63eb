import { describe, expect, it } from "vitest";
import { type LevelRun, levelsOf } from "../../harness/bench/capacity-table.js";
import { capacityChart } from "../../harness/bench/chart.js";
import { rdsNodeSize } from "../../harness/bench/cluster-server.js";
import {
  clusterCapacitySentence,
  clusterMarkdownTable,
  cpuSentence,
  cpuSplitTable,
  serverParts,
} from "../../harness/bench/cluster-table.js";
import { cpuByRole, withJournal } from "../../harness/bench/meters.js";
import { hostCpuOf, processCpuOf, sweepOrder, sweepSettings } from "../../harness/bench/sweep.js";
import { serverRole } from "../../harness/support/process-memory.js";

// The two-server capacity bench's arithmetic, order and output (`npm run bench -- --cluster`);
// the load itself is measured by running it, never asserted here.

const MiB = 1024 ** 2;
const server = (cores: number, totalMiB: number) => ({
  cpuCores: cores,
  memory: { total: totalMiB * MiB, "app instances": (totalMiB - 40) * MiB, Nginx: 6 * MiB, system: 34 * MiB },
  cpuByRole: { "app instances": cores * 0.8, Nginx: cores * 0.1, journald: cores * 0.1 },
});
const clusterRun = (connections: number, rps: number, p99: number, errors = 0): LevelRun => {
  const parts = {
    "app-1": server(rps / 1000, 250),
    "app-2": server(rps / 1100, 240),
    RDS: { cpuCores: rps / 4000, memory: { total: 90 * MiB, PostgreSQL: 90 * MiB }, cpuByRole: { PostgreSQL: 0.1 } },
    "load balancer": { cpuCores: 0.05, memory: { total: 8 * MiB, HAProxy: 8 * MiB } },
  };
  return {
    connections,
    requests: rps * 10,
    requestsPerSecond: rps,
    p50Ms: p99 / 4,
    p99Ms: p99,
    errors,
    timeouts: errors,
    statusErrors: 0,
    cpuCores: parts["app-1"].cpuCores + parts["app-2"].cpuCores + parts.RDS.cpuCores,
    memory: { total: 490 * MiB },
    parts,
    host: { busyCores: 1.9, wrkCores: 0.04 },
  };
};

describe("the sweep's settings and order", () => {
  it("reads the levels, rounds and seconds, with the documented defaults", () => {
    expect(sweepSettings({})).toEqual({ levels: [1, 2, 4, 8, 16, 32, 64, 128], rounds: 3, duration: 10 });
    expect(sweepSettings({ BENCH_LEVELS: "1,4", BENCH_ROUNDS: "5", BENCH_DURATION: "20" })).toEqual({
      levels: [1, 4],
      rounds: 5,
      duration: 20,
    });
  });

  it("refuses levels, rounds or seconds that are not whole positive numbers, naming the setting", () => {
    expect(() => sweepSettings({ BENCH_LEVELS: "1,two" })).toThrow(/^BENCH_LEVELS/);
    expect(() => sweepSettings({ BENCH_LEVELS: "0,4" })).toThrow(/^BENCH_LEVELS/);
    expect(() => sweepSettings({ BENCH_ROUNDS: "0" })).toThrow(/^BENCH_ROUNDS/);
    expect(() => sweepSettings({ BENCH_DURATION: "2.5" })).toThrow(/^BENCH_DURATION/);
  });

  it("rises in even rounds, falls in odd ones, and runs every target once per level, taking turns first", () => {
    const steps = sweepOrder({ levels: [1, 2, 4], rounds: 2, duration: 1 }, ["A", "B"]);
    expect(steps.map((s) => `${s.round}:${s.connections}${s.target}`)).toEqual([
      "0:1A",
      "0:1B",
      "0:2B",
      "0:2A",
      "0:4A",
      "0:4B",
      "1:4B",
      "1:4A",
      "1:2A",
      "1:2B",
      "1:1B",
      "1:1A",
    ]);
    // each target goes first as often as the other
    const firsts = steps.filter((_, i) => i % 2 === 0).map((s) => s.target);
    expect(firsts.filter((t) => t === "A")).toHaveLength(3);
    // one target alone: the plain alternating sweep
    expect(sweepOrder({ levels: [1, 2], rounds: 2, duration: 1 }, ["A"]).map((s) => s.connections)).toEqual([
      1, 2, 2, 1,
    ]);
  });
});

describe("CPU from the kernel's files", () => {
  it("reads the host's busy and total seconds from /proc/stat (idle and iowait are not busy)", () => {
    const stat = "cpu  1000 50 400 5000 100 10 20 5 0 0\ncpu0 500 25 200 2500 50 5 10 2 0 0\n";
    expect(hostCpuOf(stat)).toEqual({ busy: 14.85, total: 65.85 });
    expect(() => hostCpuOf("intr 1 2 3\n")).toThrow(/cpu line/);
  });

  it("reads a process's own and its reaped children's seconds, whatever its name holds", () => {
    const stat = "1234 (my (odd) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 700 300 20 0 1 0 100 0 0\n";
    expect(processCpuOf(stat)).toEqual({ own: 3, children: 10 });
    expect(() => processCpuOf("1234 (x) S 1\n")).toThrow(/not a \/proc\/PID\/stat line/);
  });

  it("splits CPU by role between two readings; a process started in between counts whole, one that exited not", () => {
    const before = new Map([
      [1, { role: "app instances", cpu: 10 }],
      [2, { role: "Nginx", cpu: 2 }],
      [3, { role: "system", cpu: 5 }],
    ]);
    const after = new Map([
      [1, { role: "app instances", cpu: 15 }],
      [2, { role: "Nginx", cpu: 3 }],
      [4, { role: "app instances", cpu: 1 }],
    ]);
    expect(cpuByRole(before, after, 10)).toEqual({ "app instances": 0.6, Nginx: 0.1 });
  });

  it("counts a Node.js 24 process outside a unit as an app instance (its main thread is named MainThread)", () => {
    const role = serverRole("todo-api");
    expect(role({ pid: 1, comm: "MainThread", unifiedCgroup: "/" })).toBe("app instances");
    expect(role({ pid: 2, comm: "MainThread", unifiedCgroup: "/system.slice/todo-api-backup.service" })).toBe("system");
  });

  it("counts the journal apart from the rest of a server's system", () => {
    const role = withJournal(serverRole("todo-api"));
    expect(role({ pid: 1, comm: "systemd-journal", unifiedCgroup: "/system.slice/systemd-journald.service" })).toBe(
      "journald",
    );
    expect(role({ pid: 2, comm: "sshd", unifiedCgroup: "/system.slice/ssh.service" })).toBe("system");
    expect(role({ pid: 3, comm: "node", unifiedCgroup: "/system.slice/todo-api@3001.service" })).toBe("app instances");
  });
});

describe("RDS sized as its node spec", () => {
  it("reads CPUs and memory from the spec's name, and refuses one that names neither", () => {
    expect(rdsNodeSize("rds.postgres.1c2g")).toEqual({ cpus: 1, memoryMiB: 2048 });
    expect(rdsNodeSize("rds.postgres.2c4g")).toEqual({ cpus: 2, memoryMiB: 4096 });
    expect(() => rdsNodeSize("rds.postgres.large")).toThrow(/does not name its CPUs and memory/);
  });
});

describe("the two-server sweep reduced to levels", () => {
  const levels = levelsOf([
    clusterRun(8, 600, 60),
    clusterRun(1, 150, 20),
    clusterRun(8, 660, 80),
    clusterRun(16, 700, 150),
    clusterRun(1, 170, 25),
    clusterRun(16, 720, 170),
  ]);

  it("keeps each part's CPU spread, memory peak and CPU split, and the host's cores", () => {
    const eight = levels[1]!;
    expect(serverParts(eight)).toEqual(["app-1", "app-2"]);
    expect(eight.parts!["app-1"]!.cpuCores).toEqual({ median: 0.63, min: 0.6, max: 0.66 });
    expect(eight.parts!.RDS!.memory.total).toBe(90 * MiB);
    expect(eight.parts!["app-1"]!.cpuByRole.journald!.median).toBeCloseTo(0.063, 5);
    expect(eight.host!.busyCores.median).toBe(1.9);
  });

  it("writes a row per level with each server's CPU and memory and RDS's share", () => {
    const lines = clusterMarkdownTable(levels).split("\n");
    expect(lines).toHaveLength(5);
    expect(lines[0]).toContain("CPU cores: app-1 / app-2 / RDS");
    expect(lines[2]).toBe(
      "| 1 | 160 (150–170) | 5.6 (5.0–6.3) | 22.5 (20.0–25.0) | 0 | 0.16 / 0.15 / 0.04 | 463 (463–463) | 0.05 / 0.04 / 1.90 | 250 (210 / 6 / 34), 240 (200 / 6 / 34), 90 |",
    );
  });

  it("says where p99 passes the limit, with the servers' and RDS's memory there", () => {
    expect(clusterCapacitySentence(levels, 100)).toBe(
      "630 req/s with p99 70.0 ms at 8 connections (servers 250 and 240 MiB of 2,048 each, RDS 90 MiB); p99 passes 100 ms at 16 connections (160.0 ms, 710 req/s; servers 250 and 240 MiB of 2,048 each, RDS 90 MiB)",
    );
  });

  it("says where the cores went and what a request cost in CPU", () => {
    const sentence = cpuSentence(levels);
    expect(sentence).toMatch(/^the servers and RDS did 463–463 requests per CPU-second \(2\.16–2\.16 ms/);
    expect(sentence).toContain("the two servers got 0.31–1.36 cores together (of their 4)");
    expect(sentence).toContain("the whole host was busy 1.90–1.90 cores");
    const split = cpuSplitTable(levels).split("\n");
    expect(split[0]).toBe(
      "| connections | app-1: app instances / Nginx / journald / system | app-2: app instances / Nginx / journald / system | RDS: PostgreSQL |",
    );
    expect(split[2]).toBe("| 1 | 0.13 / 0.02 / 0.02 / – | 0.12 / 0.01 / 0.01 / – | 0.10 |");
  });

  it("charts the two servers against one server in dashed lines, over every level of either", () => {
    const single = levelsOf([
      { ...clusterRun(4, 500, 40), parts: undefined },
      { ...clusterRun(8, 700, 90), parts: undefined },
    ]);
    const svg = capacityChart(levels, {
      title: "two and one",
      p99LimitMs: 100,
      label: "two servers",
      compare: { label: "one server", levels: single },
    });
    expect(svg).toMatch(/<polyline class="throughput-compare" points="[^"]+" [^>]*stroke-dasharray="5 3"/);
    expect(svg).toMatch(/<polyline class="p99-compare" points="[^"]+" [^>]*stroke-dasharray="5 3"/);
    expect(svg).toContain(">one server</text>");
    expect(svg).not.toMatch(/NaN|Infinity|undefined/);
    // the x axis holds 1, 4, 8 and 16 connections
    for (const c of [1, 4, 8, 16]) expect(svg).toContain(`>${c}</text>`);
    const xs = (cls: string) =>
      (/ points="([^"]+)"/.exec(svg.split("\n").find((l) => l.includes(`class="${cls}"`)) ?? "")?.[1] ?? "")
        .split(" ")
        .map((p) => Number(p.split(",")[0]));
    // one server's 8 connections sit where the two servers' 8 do
    expect(xs("throughput-compare")[1]).toBe(xs("throughput")[1]);
  });
});
