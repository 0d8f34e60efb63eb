import { run } from "./shell.js";

/** Host packages the rehearsal needs (Debian names), by the command that comes from each. */
export const hostCommands: Record<string, string> = {
  debootstrap: "debootstrap",
  "systemd-nspawn": "systemd-container",
  nsenter: "util-linux",
  ip: "iproute2",
  nft: "nftables",
  xz: "xz-utils",
  tar: "tar",
  mount: "mount",
};

export async function preflight(): Promise<void> {
  if (process.getuid?.() !== 0)
    throw new Error("the rehearsal must run as root (debootstrap, mounts, network namespaces)");
  if (process.platform !== "linux") throw new Error("the rehearsal needs Linux");
  const missing: string[] = [];
  for (const [command, pkg] of Object.entries(hostCommands)) {
    const found = await run("sh", ["-c", `command -v ${command}`], { allowFailure: true });
    if (found.code !== 0) missing.push(pkg);
  }
  if (missing.length > 0) {
    throw new Error(`missing host packages: apt-get install -y ${[...new Set(missing)].join(" ")}`);
  }
}
