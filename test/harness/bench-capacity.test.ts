import { describe, expect, it } from "vitest";
import {
  capacityAt,
  capacitySentence,
  type LevelRun,
  levelsOf,
  markdownTable,
  spreadOf,
} from "../../harness/bench/capacity-table.js";
import { capacityChart, escapeXml, niceCeiling } from "../../harness/bench/chart.js";
import { MIX, mixAccountsFile, mixLua } from "../../harness/bench/mix.js";
import { parseWrkResult } from "../../harness/bench/wrk.js";
import { unreclaimableOf } from "../../harness/support/machine-cgroup.js";
import { pssBytesOf, serverRole } from "../../harness/support/process-memory.js";

// The capacity bench's arithmetic and chart (`npm run bench -- --nginx`); the load itself is
// measured by running it, never asserted here.

const MiB = 1024 ** 2;
const run = (connections: number, rps: number, p99: number, memoryMiB = 300, errors = 0): LevelRun => ({
  connections,
  requests: rps * 10,
  requestsPerSecond: rps,
  p50Ms: p99 / 4,
  p99Ms: p99,
  errors,
  timeouts: errors,
  statusErrors: 0,
  cpuCores: rps / 500,
  memory: { total: memoryMiB * MiB, "app instances": 200 * MiB, PostgreSQL: 90 * MiB, Nginx: 10 * MiB },
});

describe("wrk's result line", () => {
  it("turns the reporter's microseconds into requests per second and milliseconds", () => {
    const output =
      'Running 10s test\n  2 threads and 8 connections\nWRK_RESULT {"requests":5000,"duration_us":10000000,"p50_us":4200,"p99_us":98765,"errors":3,"timeouts":2,"status_errors":1}\n';
    expect(parseWrkResult(output)).toEqual({
      requests: 5000,
      requestsPerSecond: 500,
      p50Ms: 4.2,
      p99Ms: 98.765,
      errors: 3,
      timeouts: 2,
      statusErrors: 1,
    });
    // a result line without the breakdown still parses
    const older = 'WRK_RESULT {"requests":10,"duration_us":1000000,"p50_us":1000,"p99_us":2000,"errors":0}\n';
    expect(parseWrkResult(older)).toEqual({ requests: 10, requestsPerSecond: 10, p50Ms: 1, p99Ms: 2, errors: 0 });
  });

  it("refuses output without the line, or a run of no time, with the output in the message", () => {
    expect(() => parseWrkResult("unable to connect to 127.0.0.1:1\n")).toThrow(
      /wrk printed no result:\nunable to connect/,
    );
    expect(() =>
      parseWrkResult('WRK_RESULT {"requests":0,"duration_us":0,"p50_us":0,"p99_us":0,"errors":0}\n'),
    ).toThrow(/a run of 0 µs/);
  });
});

describe("the sweep reduced to levels", () => {
  it("takes the median of the rounds with the lowest and highest, in rising concurrency", () => {
    expect(spreadOf([3, 1, 2])).toEqual({ median: 2, min: 1, max: 3 });
    expect(spreadOf([4, 1, 2, 3])).toEqual({ median: 2.5, min: 1, max: 4 });
    const levels = levelsOf([run(8, 900, 40), run(1, 100, 5), run(8, 1000, 60, 350), run(1, 120, 7), run(8, 950, 50)]);
    expect(levels.map((l) => l.connections)).toEqual([1, 8]);
    expect(levels[1]!.rounds).toBe(3);
    expect(levels[1]!.requestsPerSecond).toEqual({ median: 950, min: 900, max: 1000 });
    expect(levels[1]!.p99Ms).toEqual({ median: 50, min: 40, max: 60 });
    // memory is what must fit: the worst round's peak
    expect(levels[1]!.memory.total).toBe(350 * MiB);
  });

  it("finds the most throughput within the p99 limit and the first level past it", () => {
    const levels = levelsOf([run(1, 100, 5), run(4, 380, 20), run(16, 700, 90), run(32, 720, 180), run(64, 650, 400)]);
    const { within, beyond } = capacityAt(levels, 100);
    expect(within?.connections).toBe(16);
    expect(beyond?.connections).toBe(32);
    expect(capacitySentence(levels, 100)).toBe(
      "700 req/s with p99 90.0 ms at 16 connections (server memory 300 MiB); p99 passes 100 ms at 32 connections (180.0 ms, 720 req/s, server memory 300 MiB)",
    );
  });

  it("does not count a level with errors as within the limit, and says when no level passes it", () => {
    const levels = levelsOf([run(1, 100, 5), run(8, 900, 30, 300, 12)]);
    expect(capacityAt(levels, 100).within?.connections).toBe(1);
    expect(capacitySentence(levels, 100)).toMatch(/p99 stayed within 100 ms up to the highest level measured$/);
    expect(capacitySentence(levelsOf([run(1, 30, 120)]), 100)).toMatch(/^no level kept p99 within 100 ms/);
  });

  it("writes a Markdown row per level with the spread and the memory by role", () => {
    const table = markdownTable(levelsOf([run(2, 200, 10), run(2, 220, 12)]));
    const lines = table.split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^\| connections \| req\/s \| p50 ms \| p99 ms \| errors \|/);
    expect(lines[2]).toBe(
      "| 2 | 210 (200–220) | 2.8 (2.5–3.0) | 11.0 (10.0–12.0) | 0 | 0.42 (0.40–0.44) | 500 (500–500) | 300 (200 / 90 / 10 / –) |",
    );
    const failing = markdownTable(levelsOf([run(4, 300, 20, 300, 7)])).split("\n")[2];
    expect(failing).toContain("| 7 (7 timeouts, 0 ≥ 400) |");
  });
});

describe("the capacity chart (SVG)", () => {
  const levels = levelsOf([
    run(1, 100, 5),
    run(2, 190, 8),
    run(4, 380, 20),
    run(8, 600, 60),
    run(16, 700, 150),
    run(16, 650, 190),
  ]);
  const svg = capacityChart(levels, { title: "One server <2 GiB> & Nginx", p99LimitMs: 100 });
  const points = (cls: string): number[][] => {
    const line = svg.split("\n").find((l) => l.includes(`<polyline class="${cls}"`)) ?? "";
    const list = / points="([^"]+)"/.exec(line)?.[1] ?? "";
    return list ? list.split(" ").map((pair) => pair.split(",").map(Number)) : [];
  };

  it("is one well-formed svg element with the title escaped", () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
    expect(svg).toContain("One server &lt;2 GiB&gt; &amp; Nginx");
    expect(svg).not.toMatch(/NaN|Infinity|undefined/);
    const opened = (svg.match(/<text\b/g) ?? []).length;
    expect((svg.match(/<\/text>/g) ?? []).length).toBe(opened);
  });

  it("draws one point per level, left to right, for throughput and for p99", () => {
    const rps = points("throughput");
    const p99 = points("p99");
    expect(rps).toHaveLength(5);
    expect(p99).toHaveLength(5);
    const xs = rps.map(([x]) => x!);
    expect([...xs].sort((a, b) => a - b)).toEqual(xs);
    // doubling concurrency is an equal step (log scale)
    expect(xs[1]! - xs[0]!).toBeCloseTo(xs[4]! - xs[3]!, 5);
    // more throughput is higher up (smaller y), as is more latency
    expect(rps[4]![1]!).toBeLessThan(rps[0]![1]!);
    expect(p99[4]![1]!).toBeLessThan(p99[0]![1]!);
  });

  it("puts the p99 limit line between the points below and above it, and draws the spread", () => {
    const limitY = Number(/class="p99-limit" x1="[^"]+" y1="([^"]+)"/.exec(svg)?.[1]);
    const p99 = points("p99");
    expect(p99[3]![1]!).toBeGreaterThan(limitY); // 60 ms: below the line (larger y)
    expect(p99[4]![1]!).toBeLessThan(limitY); // 170 ms median: above it
    expect((svg.match(/class="p99-spread"/g) ?? []).length).toBe(5);
  });

  it("rounds axis tops to 1, 2 or 5 times a power of ten, and escapes XML", () => {
    expect([niceCeiling(730), niceCeiling(1000), niceCeiling(1001), niceCeiling(0.3), niceCeiling(0)]).toEqual([
      1000, 1000, 2000, 0.5, 1,
    ]);
    expect(escapeXml(`a<b>&"c'`)).toBe("a&lt;b&gt;&amp;&quot;c&apos;");
    expect(() => capacityChart([], { title: "x", p99LimitMs: 100 })).toThrow(/no levels/);
  });
});

describe("the mobile mix", () => {
  it("has shares that add up to 100 % and a Lua branch for each kind", () => {
    expect(MIX.reduce((s, m) => s + m.percent, 0)).toBe(100);
    const lua = mixLua();
    expect(lua).toContain('{35,"list"},{60,"get"},{75,"update"},{90,"sync"},{100,"create"}');
    for (const m of MIX.filter((k) => k.kind !== "create")) expect(lua).toContain(`kind == "${m.kind}"`);
  });

  it("writes one line per account and refuses what the Lua could not split", () => {
    expect(mixAccountsFile([{ token: "a.b.c", cursor: "MTIz-_x", todoIds: [4, 5] }])).toBe("a.b.c MTIz-_x 4 5\n");
    expect(() => mixAccountsFile([{ token: "a b", cursor: "c", todoIds: [1] }])).toThrow(/needs a token/);
    expect(() => mixAccountsFile([{ token: "a", cursor: "c", todoIds: [] }])).toThrow(/at least one todo/);
  });
});

describe("a server's memory, read from the kernel's files", () => {
  it("reads PSS from smaps_rollup and the unreclaimable part of v1 and v2 memory.stat", () => {
    expect(pssBytesOf("00400000-7ffd r--p 0 0:0 0 [rollup]\nRss: 2048 kB\nPss: 1536 kB\nPss_Anon: 1000 kB\n")).toBe(
      1536 * 1024,
    );
    expect(() => pssBytesOf("Rss: 1 kB\n")).toThrow(/no Pss line/);
    expect(unreclaimableOf("rss 1\nshmem 9\ntotal_rss 100\ntotal_shmem 20\n")).toBe(120);
    expect(unreclaimableOf("anon 300\nfile 999\nshmem 40\n")).toBe(340);
  });

  it("groups a server's processes by unit, or by command name where there is none", () => {
    const role = serverRole("todo-api");
    const p = (comm: string, unifiedCgroup: string) => role({ pid: 1, comm, unifiedCgroup });
    expect(p("node", "/payload/system.slice/system-todo\\x2dapi.slice/todo-api@3001.service")).toBe("app instances");
    expect(p("postgres", "/payload/system.slice/system-postgresql.slice/postgresql@15-main.service")).toBe(
      "PostgreSQL",
    );
    expect(p("nginx", "/payload/system.slice/nginx.service")).toBe("Nginx");
    expect(p("node", "/payload/system.slice/todo-api-backup.service")).toBe("system");
    expect(p("systemd-journal", "/payload/system.slice/systemd-journald.service")).toBe("system");
    expect(p("systemd-nspawn", "/supervisor")).toBeUndefined();
    expect(p("node", "/")).toBe("app instances");
    expect(p("postgres", "/")).toBe("PostgreSQL");
    expect(p("nginx", "/")).toBe("Nginx");
  });
});
