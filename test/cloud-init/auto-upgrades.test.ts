import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { requireTool } from "../support/tools.js";
import { renderedFiles, run, variants } from "./helpers.js";

const aptConfig = requireTool("apt-config");
const dir = mkdtempSync(join(tmpdir(), "auto-upgrades-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Debian 12's 50unattended-upgrades, as the package installs it (its origins, comments left out). */
const DEBIAN_DEFAULT = `Unattended-Upgrade::Origins-Pattern {
        "origin=Debian,codename=\${distro_codename},label=Debian";
        "origin=Debian,codename=\${distro_codename},label=Debian-Security";
        "origin=Debian,codename=\${distro_codename}-security,label=Debian-Security";
};
`;
/** Ubuntu 24.04's, likewise. */
const UBUNTU_DEFAULT = `Unattended-Upgrade::Allowed-Origins {
        "\${distro_id}:\${distro_codename}";
        "\${distro_id}:\${distro_codename}-security";
        "\${distro_id}ESMApps:\${distro_codename}-apps-security";
        "\${distro_id}ESM:\${distro_codename}-infra-security";
};
`;

/** What apt (and so unattended-upgrades) reads with the distribution's file and the kit's. */
function effective(distributionDefault: string): string {
  const parts = mkdtempSync(join(dir, "parts-"));
  mkdirSync(parts, { recursive: true });
  writeFileSync(join(parts, "50unattended-upgrades"), distributionDefault);
  const kit = renderedFiles(variants["local, no domain"]!).get("/etc/apt/apt.conf.d/52todo-auto-upgrades")!;
  writeFileSync(join(parts, "52todo-auto-upgrades"), kit.content);
  const conf = join(parts, "..", `${parts.split("/").pop()}.conf`);
  writeFileSync(conf, `Dir::Etc::Parts "${parts}";\nDir::Etc::main "/dev/null";\n`);
  const r = run("apt-config", ["dump"], { env: { ...process.env, APT_CONFIG: conf } });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

describe.skipIf(aptConfig.missing)("unattended upgrades install security updates only", () => {
  it("on Debian: point releases (label=Debian) are no longer among the origins", () => {
    const dump = effective(DEBIAN_DEFAULT);
    const origins = dump.split("\n").filter((l) => l.startsWith("Unattended-Upgrade::Origins-Pattern:: "));
    expect(origins.length).toBeGreaterThan(0);
    for (const origin of origins) expect(origin).toMatch(/security/i);
    expect(dump).not.toContain('label=Debian";');
    expect(dump).toContain('APT::Periodic::Unattended-Upgrade "1";');
    expect(dump).toContain('Unattended-Upgrade::Automatic-Reboot "false";');
  });

  it("on Ubuntu: only the security pockets, the release pocket's list cleared", () => {
    const dump = effective(UBUNTU_DEFAULT);
    expect(dump).not.toMatch(/^Unattended-Upgrade::Allowed-Origins:: /m);
    expect(dump).toContain('"origin=Ubuntu,archive=${distro_codename}-security"');
  });
});
