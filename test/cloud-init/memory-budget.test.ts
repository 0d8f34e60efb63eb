import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { memoryPlan, plannedMiB } from "../../cloud-init/memory-budget.js";
import { parseCloudInitOptions } from "../../cloud-init/options.js";
import { renderHostConf } from "../../cloud-init/host-conf.js";
import type { CloudInitOptions } from "../../cloud-init/options.js";
import { buildServerKit } from "../../release/bundle.js";
import { run } from "./helpers.js";

/**
 * The app's MemoryMax follows the server's memory: the bundled kit (server/kit.mjs, as
 * a release carries it) runs with a meminfo of 1, 2, 4 and 8 GiB, and a shell reads back what it
 * installed — the unit's MemoryMax and V8 heap limit, the memory plan todo-setup sizes PostgreSQL
 * from — and adds up the budget: both app instances + PostgreSQL + Nginx + the system.
 */
const dir = mkdtempSync(join(tmpdir(), "memory-budget-"));
const kitDir = join(dir, "server");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(async () => {
  mkdirSync(kitDir, { recursive: true });
  await buildServerKit(join(kitDir, "kit.mjs"));
  for (const folder of ["bin", "systemd", "nginx", "etc", "lib"]) {
    cpSync(new URL(`../../cloud-init/${folder}`, import.meta.url), join(kitDir, folder), { recursive: true });
  }
}, 60_000);

/** Installs the kit's files for `options` on a server with `memTotalKiB`, then sums the budget in sh. */
function installOn(name: string, memTotalKiB: number, options: CloudInitOptions, procSelf?: string) {
  const root = join(dir, name);
  mkdirSync(join(root, "etc"), { recursive: true });
  writeFileSync(join(root, "etc/todo-host.conf"), renderHostConf(parseCloudInitOptions(options)));
  const meminfo = join(dir, `${name}.meminfo`);
  writeFileSync(meminfo, `MemTotal:       ${memTotalKiB} kB\nMemFree:         100000 kB\n`);
  const kit = run(process.execPath, [join(kitDir, "kit.mjs"), "install", "--root", root], {
    env: { PATH: process.env.PATH, TODO_MEMINFO: meminfo, ...(procSelf ? { TODO_PROC_SELF: procSelf } : {}) },
  });
  expect(kit.stderr).toBe("");
  expect(kit.status).toBe(0);
  // What an operator would check on the server: the unit's limit, the heap limit, the plan.
  const sum = run("sh", [
    "-c",
    `set -eu
     . "$1/etc/todo-memory.conf"
     unit="$1/etc/systemd/system/todo-api@.service"
     max=$(sed -n 's/^MemoryMax=\\([0-9]*\\)M$/\\1/p' "$unit")
     heap=$(sed -n 's/.*--max-old-space-size=\\([0-9]*\\).*/\\1/p' "$unit")
     instances=$(. "$1/etc/todo-host.conf"; set -- $APP_PORTS; echo $#)
     backends=0; if [ -n "\${PG_SHARED_BUFFERS_MIB:-}" ]; then backends=128; fi
     pg=$(( \${PG_SHARED_BUFFERS_MIB:-0} + \${PG_MAINTENANCE_WORK_MEM_MIB:-0} + backends ))
     total=$(( instances * max + pg + 64 + 256 ))
     echo "$MEM_TOTAL_MIB $max $heap $pg $total $APP_MEMORY_SOURCE"`,
    "budget",
    root,
  ]);
  expect(sum.stderr).toBe("");
  const [memTotal, memoryMax, heap, postgres, total] = sum.stdout.trim().split(" ").slice(0, 5).map(Number);
  return {
    memTotal: memTotal!,
    memoryMax: memoryMax!,
    heap: heap!,
    postgres: postgres!,
    total: total!,
    source: sum.stdout.trim().split(" ").slice(5).join(" "),
    output: kit.stdout,
  };
}

const local: CloudInitOptions = { environment: "prod", databaseMode: "local" };
const GiB = 1024 * 1024; // in kB

describe("the app's MemoryMax, derived from the server's memory by the kit", () => {
  it("grows with the server and fits both instances, PostgreSQL, Nginx and the system", () => {
    const sizes = [1, 2, 4, 8].map((gib) => ({ gib, ...installOn(`local-${gib}g`, gib * GiB, local) }));
    const table = sizes.map(
      (s) =>
        `${s.gib} GiB: MemoryMax ${s.memoryMax} MiB, heap ${s.heap}, PostgreSQL ${s.postgres}, planned ${s.total} of ${s.memTotal} MiB (${Math.round((1 - s.total / s.memTotal) * 100)} % left)`,
    );
    process.stdout.write(`${table.join("\n")}\n`);
    expect(sizes.map((s) => s.memoryMax)).toEqual([192, 512, 1280, 2816]);
    for (const s of sizes) {
      expect(s.source).toBe("derived");
      // V8's old space stays 128 MiB inside the unit's limit, at least 96 MiB (node-flags.ts)
      expect(s.heap).toBe(Math.max(96, s.memoryMax - 128));
      expect(s.total).toBeLessThanOrEqual(s.memTotal);
      // 2 GiB and up keep at least a tenth free for page cache and a migration's Node.js process;
      // 1 GiB fits without that headroom (todo-setup adds 1 GiB of swap on servers up to 2.5 GB)
      if (s.gib >= 2) expect(s.total).toBeLessThanOrEqual(s.memTotal * 0.9);
      // the kit's own plan agrees with the shell's sum
      expect(plannedMiB(memoryPlan(s.memTotal, { databaseMode: "local", instances: 2 }))).toBe(s.total);
    }
    expect(sizes[1]!.output).toMatch(
      /kit: memory 2048 MiB \(MemTotal\): app MemoryMax 512 MiB per instance \(derived\)/,
    );
  });

  it('on a "2 GB" instance (the kernel reports about 1.9 GiB) still fits with headroom', () => {
    const s = installOn("local-2gb-vm", 1_996_788, local);
    expect(s.memoryMax).toBe(480);
    expect(s.total).toBeLessThanOrEqual(s.memTotal * 0.9);
  });

  it("gives the app PostgreSQL's share in database mode rds", () => {
    const s = installOn("rds-2g", 2 * GiB, { environment: "prod", databaseMode: "rds" });
    expect(s.postgres).toBe(0);
    expect(s.memoryMax).toBe(736);
    expect(s.total).toBeLessThanOrEqual(s.memTotal * 0.9);
  });

  it("shares out among three instances when there are three ports", () => {
    const s = installOn("local-4g-3", 4 * GiB, { ...local, appPorts: [3001, 3002, 3003] });
    expect(s.memoryMax).toBe(864);
    expect(s.total).toBeLessThanOrEqual(s.memTotal * 0.9);
  });

  it("an explicit appMemoryMaxMiB still wins", () => {
    const s = installOn("explicit", 8 * GiB, { ...local, appMemoryMaxMiB: 384 });
    expect(s.memoryMax).toBe(384);
    expect(s.heap).toBe(256);
    expect(s.source).toBe("stack configuration");
    expect(readFileSync(join(dir, "explicit/etc/todo-host.conf"), "utf8")).toContain("APP_MEMORY_MAX_MIB='384'");
  });

  it("refuses a meminfo without MemTotal, with a clear error, and installs nothing", () => {
    const root = join(dir, "broken");
    mkdirSync(join(root, "etc"), { recursive: true });
    writeFileSync(join(root, "etc/todo-host.conf"), renderHostConf(parseCloudInitOptions(local)));
    writeFileSync(join(dir, "broken.meminfo"), "MemFree: 1 kB\n");
    const r = run(process.execPath, [join(kitDir, "kit.mjs"), "install", "--root", root], {
      env: { PATH: process.env.PATH, TODO_MEMINFO: join(dir, "broken.meminfo") },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/kit: error: no MemTotal line/);
    expect(() => readFileSync(join(root, "etc/systemd/system/todo-api@.service"))).toThrow();
  });
});

/**
 * A server in a container: /proc/meminfo is the host's, the container's memory is its cgroup's
 * limit. Each case is a /proc/self (its `cgroup` and `mountinfo`) and the cgroup files they point
 * to, in a temporary tree, as the kit would find them.
 */
function containerProc(name: string, layout: { cgroup: string; mounts: string[]; files: Record<string, string> }) {
  const proc = join(dir, `${name}.proc`);
  const fs = join(dir, `${name}.cgroupfs`);
  mkdirSync(proc, { recursive: true });
  writeFileSync(join(proc, "cgroup"), layout.cgroup);
  writeFileSync(join(proc, "mountinfo"), `${layout.mounts.map((m) => m.replaceAll("$FS", fs)).join("\n")}\n`);
  for (const [path, content] of Object.entries(layout.files)) {
    mkdirSync(join(fs, path, ".."), { recursive: true });
    writeFileSync(join(fs, path), content);
  }
  return proc;
}

const host24GiB = 24 * GiB;
const rootMount = "22 1 0:21 / / rw - ext4 /dev/vda rw";

describe("a server in a container plans for its cgroup's memory limit, not the host's MemTotal", () => {
  it("cgroup v2: memory.max of its own cgroup (2 GiB in a 24 GiB host) gives the 2 GiB plan", () => {
    const proc = containerProc("v2-own", {
      cgroup: "0::/system.slice/ssh.service\n",
      mounts: [rootMount, "30 22 0:26 / $FS/unified rw,nosuid - cgroup2 cgroup2 rw"],
      files: {
        "unified/system.slice/ssh.service/memory.max": `${2 * 1024 ** 3}\n`,
        "unified/system.slice/memory.max": "max\n",
      },
    });
    const s = installOn("container-v2", host24GiB, local, proc);
    expect(s.memTotal).toBe(2048);
    expect(s.memoryMax).toBe(512);
    expect(s.output).toMatch(
      /kit: memory 2048 MiB \(the cgroup's memory limit; MemTotal 24576 MiB\): app MemoryMax 512 MiB/,
    );
  });

  it("cgroup v1, mounted where the container runtime put it: an ancestor's limit binds", () => {
    // The namespace root is the container's cgroup (limit 2 GiB); the kit runs two levels below it.
    const proc = containerProc("v1-ancestor", {
      cgroup: "5:cpu,cpuacct:/\n4:memory:/deploy/step\n0::/init.scope\n",
      mounts: [
        rootMount,
        "31 22 0:27 / $FS/host\\040cgroup/memory ro,nosuid - cgroup cgroup rw,memory",
        "32 22 0:28 / $FS/cpu rw - cgroup cgroup rw,cpu,cpuacct",
      ],
      files: {
        "host cgroup/memory/memory.limit_in_bytes": `${2 * 1024 ** 3}\n`,
        "host cgroup/memory/deploy/memory.limit_in_bytes": "9223372036854771712\n",
        "host cgroup/memory/deploy/step/memory.limit_in_bytes": "9223372036854771712\n",
      },
    });
    const s = installOn("container-v1", host24GiB, local, proc);
    expect(s.memTotal).toBe(2048);
    expect(s.memoryMax).toBe(512);
  });

  it('a limit above MemTotal, or none ("max", v1\'s huge number), leaves MemTotal in charge', () => {
    const above = containerProc("v2-above", {
      cgroup: "0::/box\n",
      mounts: [rootMount, "30 22 0:26 / $FS/cg rw - cgroup2 cgroup2 rw"],
      files: { "cg/box/memory.max": `${64 * 1024 ** 3}\n` },
    });
    expect(installOn("limit-above", 4 * GiB, local, above).memoryMax).toBe(1280);
    const none = containerProc("v1-none", {
      cgroup: "4:memory:/box\n",
      mounts: [rootMount, "31 22 0:27 / $FS/memory rw - cgroup cgroup rw,memory"],
      files: {
        "memory/box/memory.limit_in_bytes": "9223372036854771712\n",
        "memory/memory.limit_in_bytes": "9223372036854771712\n",
      },
    });
    const s = installOn("limit-none", 4 * GiB, local, none);
    expect(s.memoryMax).toBe(1280);
    expect(s.output).toMatch(/kit: memory 4096 MiB \(MemTotal\)/);
  });

  it("refuses a limit that is not a number of bytes, with a clear error", () => {
    const proc = containerProc("v2-garbage", {
      cgroup: "0::/box\n",
      mounts: [rootMount, "30 22 0:26 / $FS/cg rw - cgroup2 cgroup2 rw"],
      files: { "cg/box/memory.max": "two gigabytes\n" },
    });
    const root = join(dir, "garbage");
    mkdirSync(join(root, "etc"), { recursive: true });
    writeFileSync(join(root, "etc/todo-host.conf"), renderHostConf(parseCloudInitOptions(local)));
    writeFileSync(join(dir, "garbage.meminfo"), `MemTotal: ${host24GiB} kB\n`);
    const r = run(process.execPath, [join(kitDir, "kit.mjs"), "install", "--root", root], {
      env: { PATH: process.env.PATH, TODO_MEMINFO: join(dir, "garbage.meminfo"), TODO_PROC_SELF: proc },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/kit: error: a cgroup memory limit of "two gigabytes" is not a number of bytes/);
  });
});
