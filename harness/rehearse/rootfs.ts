import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, rm, rename, writeFile, truncate } from "node:fs/promises";
import { join } from "node:path";
import { run } from "./shell.js";
import type { StepLog } from "./steps.js";

/**
 * A pristine Debian 12 root filesystem standing in for the "Debian 12" cloud image of the ECS:
 * a minimal base with systemd as init, plus the cloud-init package and the few tools every
 * Debian/Ubuntu cloud image ships (CA certificates, curl, xz, sudo, OpenSSH, locales).
 * It is built once and cached; each rehearsal boots a throw-away overlay on top of it.
 */
export interface RootfsSpec {
  /**
   * Cache name of a variant image (default: the suite). Each name keeps its own newest image, so
   * a variant (e.g. the plain image of `npm run check:fresh`) never evicts the rehearsal's.
   */
  name?: string;
  suite: string;
  archive: string;
  securityArchive: string;
  /** Packages debootstrap installs (the init system must be there before the first boot). */
  bootstrapPackages: string[];
  /** Packages installed with apt inside the new system (cloud-init and its dependencies). */
  imagePackages: string[];
}

export const debian12: RootfsSpec = {
  suite: "bookworm",
  archive: "http://deb.debian.org/debian",
  securityArchive: "http://deb.debian.org/debian-security",
  bootstrapPackages: ["systemd", "systemd-sysv", "dbus"],
  imagePackages: [
    "cloud-init",
    "ca-certificates",
    "curl",
    "xz-utils",
    "gnupg",
    "iproute2",
    "sudo",
    "openssh-server",
    "locales",
  ],
};

/** Bump when the way the image is built changes, so stale caches are not reused. */
const FORMAT = 2;

export function rootfsKey(spec: RootfsSpec): string {
  return createHash("sha256")
    .update(JSON.stringify({ FORMAT, ...spec }))
    .digest("hex")
    .slice(0, 12);
}

export interface Rootfs {
  path: string;
  key: string;
  /** False when the cached copy was reused. */
  built: boolean;
}

export async function ensureRootfs(cacheDir: string, spec: RootfsSpec, log: StepLog, rebuild = false): Promise<Rootfs> {
  const key = rootfsKey(spec);
  const prefix = `rootfs-${spec.name ?? spec.suite}-`;
  const path = join(cacheDir, `${prefix}${key}`);
  if (existsSync(join(path, ".complete")) && !rebuild) {
    log.info(`cached root filesystem ${path}`);
    return { path, key, built: false };
  }
  await mkdir(cacheDir, { recursive: true });
  // Built beside its final place and renamed when complete: an interrupted build never
  // leaves a half-made image that a later run would trust.
  const building = `${path}.building-${process.pid}`;
  await rm(building, { recursive: true, force: true });
  try {
    let t = Date.now();
    const include = spec.bootstrapPackages.length > 0 ? [`--include=${spec.bootstrapPackages.join(",")}`] : [];
    await run("debootstrap", ["--variant=minbase", ...include, spec.suite, building, spec.archive], {
      timeoutMs: 15 * 60_000,
    });
    log.info(`debootstrap ${spec.suite}: ${((Date.now() - t) / 1000).toFixed(1)} s`);

    await writeFile(
      join(building, "etc/apt/sources.list"),
      [
        `deb ${spec.archive} ${spec.suite} main`,
        `deb ${spec.archive} ${spec.suite}-updates main`,
        `deb ${spec.securityArchive} ${spec.suite}-security main`,
        "",
      ].join("\n"),
    );
    t = Date.now();
    if (spec.imagePackages.length > 0) {
      // systemd-nspawn (not chroot) so package scripts see /proc, /sys and /dev; the host network
      // is shared here, only to reach Debian's archive while building the image.
      await run(
        "systemd-nspawn",
        [
          "--quiet",
          "--register=no",
          "--keep-unit",
          "--resolv-conf=copy-host",
          "-D",
          building,
          "--setenv=DEBIAN_FRONTEND=noninteractive",
          "/bin/sh",
          "-ec",
          [
            "apt-get update -qq",
            `apt-get install -y -qq --no-install-recommends ${spec.imagePackages.join(" ")}`,
            "apt-get upgrade -y -qq",
            // Cloud images come with en_US.UTF-8 generated; cloud-init's locale module sets it.
            "sed -i 's/^# *en_US.UTF-8 UTF-8/en_US.UTF-8 UTF-8/' /etc/locale.gen",
            "locale-gen",
            "apt-get clean",
          ].join("\n"),
        ],
        { timeoutMs: 15 * 60_000 },
      );
      log.info(`apt-get install ${spec.imagePackages.join(" ")}: ${((Date.now() - t) / 1000).toFixed(1)} s`);
    }

    // Like a cloud image: no machine identity and no SSH host keys baked in; the first boot
    // of each instance creates its own.
    if (existsSync(join(building, "etc/machine-id"))) await truncate(join(building, "etc/machine-id"), 0);
    await rm(join(building, "var/lib/dbus/machine-id"), { force: true });
    await run("sh", ["-c", `rm -f '${building}'/etc/ssh/ssh_host_*`]);
    await writeFile(join(building, ".complete"), `${new Date().toISOString()}\n`);

    await rm(path, { recursive: true, force: true });
    await rename(building, path);
    await removeStaleImages(cacheDir, prefix, path);
    return { path, key, built: true };
  } catch (error) {
    await rm(building, { recursive: true, force: true });
    throw error;
  }
}

/** Images of an older recipe are never used again; drop them so the cache does not grow. */
async function removeStaleImages(cacheDir: string, prefix: string, keep: string): Promise<void> {
  for (const name of await readdir(cacheDir)) {
    const path = join(cacheDir, name);
    if (name.startsWith(prefix) && path !== keep && !name.includes(".building-")) {
      await rm(path, { recursive: true, force: true });
    }
  }
}
