import { describe, expect, it } from "vitest";
import {
  cgroupMemoryLimit,
  memoryCgroupMounts,
  ownCgroups,
  parseMemoryLimit,
  serverMemory,
} from "../../cloud-init/memory-limit.js";

// How the kit finds a container's memory limit (cloud-init/memory-limit.ts), from the texts of
// /proc/self/cgroup and /proc/self/mountinfo and the cgroup files they lead to. The kit's install
// with these files on disk is in memory-budget.test.ts.

const GiB = 1024 ** 3;
const files = (entries: Record<string, string>) => (path: string) => entries[path];

describe("the cgroup memory limit the kit plans for", () => {
  it("reads which hierarchies are mounted where, unescaping paths, and ignores other file systems", () => {
    const mountinfo = [
      "22 1 0:21 / / rw,relatime - ext4 /dev/vda rw",
      "30 22 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate",
      "31 22 0:27 /machine/box /run/my\\040cgroups/memory ro - cgroup cgroup rw,memory",
      "32 22 0:28 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu,cpuacct",
      "garbage",
    ].join("\n");
    expect(memoryCgroupMounts(mountinfo)).toEqual([
      { version: 2, root: "/", mountPoint: "/sys/fs/cgroup" },
      { version: 1, root: "/machine/box", mountPoint: "/run/my cgroups/memory" },
    ]);
    expect(ownCgroups("12:cpu,cpuacct:/x\n4:memory:/a/b\n0::/c.scope\n")).toEqual({ v1: "/a/b", v2: "/c.scope" });
  });

  it("parses limits: bytes, and no limit as v2's max or v1's huge number", () => {
    expect(parseMemoryLimit("2147483648\n")).toBe(2 * GiB);
    expect(parseMemoryLimit("max\n")).toBeUndefined();
    expect(parseMemoryLimit("9223372036854771712\n")).toBeUndefined();
    expect(() => parseMemoryLimit("-1")).toThrow(/is not a number of bytes/);
  });

  it("takes the smallest limit from its own cgroup up to the mount's root", () => {
    const read = files({
      "/sys/fs/cgroup/a/b/memory.max": "max",
      "/sys/fs/cgroup/a/memory.max": String(3 * GiB),
      "/sys/fs/cgroup/memory.max": String(2 * GiB), // a namespace root shows its own limit
    });
    const mounts = "30 22 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw";
    expect(cgroupMemoryLimit("0::/a/b\n", mounts, read)).toBe(2 * GiB);
  });

  it("maps its path below a mount whose root is not the hierarchy's root", () => {
    const read = files({ "/m/box/step/memory.limit_in_bytes": String(GiB) });
    const mounts = "31 22 0:27 /machine /m ro - cgroup cgroup rw,memory";
    expect(cgroupMemoryLimit("4:memory:/machine/box/step\n", mounts, read)).toBe(GiB);
    // a process elsewhere in the tree finds nothing under this mount
    expect(cgroupMemoryLimit("4:memory:/user.slice\n", mounts, read)).toBeUndefined();
  });

  it("finds nothing on a machine without limits, and nothing for a path outside its namespace", () => {
    const mounts = "30 22 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw";
    expect(cgroupMemoryLimit("0::/init.scope\n", mounts, files({}))).toBeUndefined();
    const v1 = "31 22 0:27 / /run/cg ro - cgroup cgroup rw,memory";
    const read = files({ "/run/cg/memory.limit_in_bytes": String(2 * GiB), "/run/memory.limit_in_bytes": "1" });
    expect(cgroupMemoryLimit("4:memory:/..\n", v1, read)).toBeUndefined();
    expect(cgroupMemoryLimit("4:memory:/\n", v1, read)).toBe(2 * GiB);
  });

  it("plans for MemTotal unless the limit is smaller, and says which", () => {
    expect(serverMemory(24_105, 2 * GiB)).toEqual({
      mib: 2048,
      source: "the cgroup's memory limit; MemTotal 24105 MiB",
    });
    expect(serverMemory(1_950, 2 * GiB)).toEqual({ mib: 1_950, source: "MemTotal" });
    expect(serverMemory(1_950, undefined)).toEqual({ mib: 1_950, source: "MemTotal" });
  });
});
