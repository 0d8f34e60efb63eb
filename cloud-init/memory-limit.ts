/**
 * The memory this server may use, when it is smaller than MemTotal: the memory limit of the cgroup
 * the kit runs in (and of every ancestor it can see). On a virtual machine (an ECS instance) there
 * is none and MemTotal is the answer; in a container, /proc/meminfo is the host's (the kernel does
 * not virtualise it), so a server in a 2 GiB container on a 24 GB host would otherwise plan for
 * 24 GB and give each app instance 4 GiB it can never have.
 *
 * Both cgroup versions: v2 `memory.max` ("max" = none), v1 `memory.limit_in_bytes` (a huge number
 * = none). Where each hierarchy is mounted comes from /proc/self/mountinfo, not from a fixed
 * /sys/fs/cgroup layout: a container runtime may mount its view of the hierarchy elsewhere.
 */
import { readFileSync } from "node:fs";

/** v1 reports "no limit" as the largest page-aligned 63-bit number; anything this big is none. */
const UNLIMITED_V1 = 2 ** 62;

interface CgroupMount {
  version: 1 | 2;
  /** The cgroup path at the mount's root (relative to the reader's cgroup namespace). */
  root: string;
  mountPoint: string;
}

/** mountinfo escapes spaces, tabs, newlines and backslashes in paths as \ooo. */
const unescapePath = (path: string) =>
  path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));

/** The cgroup mounts of /proc/self/mountinfo that can tell a memory limit. */
export function memoryCgroupMounts(mountinfo: string): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of mountinfo.split("\n")) {
    const fields = line.trim().split(" ");
    const dash = fields.indexOf("-");
    if (dash < 6) continue;
    const [fsType, , superOptions = ""] = fields.slice(dash + 1);
    const root = unescapePath(fields[3]!);
    const mountPoint = unescapePath(fields[4]!);
    if (fsType === "cgroup2") mounts.push({ version: 2, root, mountPoint });
    else if (fsType === "cgroup" && superOptions.split(",").includes("memory"))
      mounts.push({ version: 1, root, mountPoint });
  }
  return mounts;
}

/** This process's cgroup path per version, from /proc/self/cgroup ("0::/a/b", "4:memory:/a/b"). */
export function ownCgroups(procSelfCgroup: string): { v1?: string; v2?: string } {
  const own: { v1?: string; v2?: string } = {};
  for (const line of procSelfCgroup.split("\n")) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    if (m[1] === "0" && m[2] === "") own.v2 = m[3];
    else if (m[2]!.split(",").includes("memory")) own.v1 = m[3];
  }
  return own;
}

/** Bytes of a memory.max / memory.limit_in_bytes file, or undefined for "no limit". */
export function parseMemoryLimit(text: string): number | undefined {
  const value = text.trim();
  if (value === "max") return undefined;
  if (!/^\d+$/.test(value)) throw new Error(`a cgroup memory limit of "${value}" is not a number of bytes`);
  const bytes = Number(value);
  return bytes >= UNLIMITED_V1 ? undefined : bytes;
}

/**
 * The smallest memory limit on the way from this process's cgroup up to the root of the mounted
 * hierarchy, in bytes; undefined when there is none (or no hierarchy shows one).
 * `read` returns a file's text, or undefined when it does not exist.
 */
export function cgroupMemoryLimit(
  procSelfCgroup: string,
  mountinfo: string,
  read: (path: string) => string | undefined,
): number | undefined {
  const own = ownCgroups(procSelfCgroup);
  let smallest: number | undefined;
  for (const mount of memoryCgroupMounts(mountinfo)) {
    const path = mount.version === 2 ? own.v2 : own.v1;
    // A path with ".." lies outside this cgroup namespace's root (a process that entered the
    // namespace from outside its cgroup): nothing mounted here describes it.
    if (path === undefined || path.split("/").includes("..")) continue;
    const root = mount.root === "/" ? "" : mount.root;
    if (root && path !== root && !path.startsWith(`${root}/`)) continue; // another part of the tree
    const file = mount.version === 2 ? "memory.max" : "memory.limit_in_bytes";
    const base = mount.mountPoint.replace(/\/$/, "");
    const below = path.slice(root.length).split("/").filter(Boolean);
    // From the process's own cgroup up to the mount's root: a parent's limit binds its children.
    for (let depth = below.length; depth >= 0; depth--) {
      const text = read([base, ...below.slice(0, depth), file].join("/"));
      const bytes = text === undefined ? undefined : parseMemoryLimit(text);
      if (bytes !== undefined && (smallest === undefined || bytes < smallest)) smallest = bytes;
    }
  }
  return smallest;
}

const readIfThere = (path: string): string | undefined => {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
};

/** The cgroup memory limit of the running process, from `procSelf` (/proc/self, or a test's copy). */
export function ownMemoryLimit(procSelf = "/proc/self"): number | undefined {
  const cgroup = readIfThere(`${procSelf}/cgroup`);
  const mountinfo = readIfThere(`${procSelf}/mountinfo`);
  if (cgroup === undefined || mountinfo === undefined) return undefined;
  return cgroupMemoryLimit(cgroup, mountinfo, readIfThere);
}

/** The memory to plan for: MemTotal, or the cgroup's limit where it is smaller, in MiB. */
export function serverMemory(memTotalMiB: number, limitBytes: number | undefined): { mib: number; source: string } {
  const limitMiB = limitBytes === undefined ? undefined : Math.floor(limitBytes / 1024 ** 2);
  if (limitMiB !== undefined && limitMiB < memTotalMiB)
    return { mib: limitMiB, source: `the cgroup's memory limit; MemTotal ${memTotalMiB} MiB` };
  return { mib: memTotalMiB, source: "MemTotal" };
}
