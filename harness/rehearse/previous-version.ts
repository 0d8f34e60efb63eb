import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { ECS_2C2G } from "../support/machine-cgroup.js";
import { RehearsalClient } from "./api.js";
import type { Cleanup } from "./cleanup.js";
import { waitForCloudInit } from "./cloud-init-wait.js";
import { Container } from "./container.js";
import { deployInContainer } from "./deploy.js";
import { createPrivateNetwork } from "./network.js";
import { previousUserData } from "./previous-user-data.js";
import type { Release } from "./releases.js";
import { expectSystemRunning } from "./server-checks.js";
import type { StepLog } from "./steps.js";

/**
 * An existing server meets this version (docs/deploy.md, "Servers created by an earlier
 * version"): a second container boots the previous version's user data (frozen in
 * test/fixtures/previous-user-data.yaml: every server script in the user data, todo-setup at
 * first boot), then this version's release is deployed to it exactly as to any server. The
 * converged server must equal the fresh one in what matters: every file the kit installs
 * (content and mode), the units' enabled and active states, the Node.js version, the Nginx site,
 * PostgreSQL's conf.d file and the app role's settings, the setup-done marker, and the app serving.
 */
export interface PreviousVersion {
  log: StepLog;
  cleanup: Cleanup;
  id: string;
  runDir: string;
  rootfs: string;
  aptCacheDir: string;
  /** The rehearsal's Node.js mirror (reachable from any of its containers through the host). */
  mirrorUrl: string;
  release: Release;
  hostSettings: string;
  appName: string;
  appPorts: number[];
  cloudInitTimeoutMs: number;
}

/** What must be the same on every server set up for the same settings (see above). */
export async function serverFingerprint(box: Container, appName: string, appPorts: number[]): Promise<string[]> {
  const units = [
    ...appPorts.map((p) => `${appName}@${p}`),
    "nginx",
    "postgresql",
    `${appName}-health.timer`,
    `${appName}-backup.timer`,
    `${appName}-firewall.service`,
  ];
  const script = `
    while read -r f; do
      [ -n "$f" ] || continue
      if [ -e "$f" ]; then echo "file $f $(sha256sum <"$f" | cut -c1-16) $(stat -c %a "$f")"; else echo "file $f MISSING"; fi
    done </var/lib/todo-setup/installed-files
    for u in ${units.join(" ")}; do echo "unit $u $(systemctl is-enabled "$u" 2>&1) $(systemctl is-active "$u" 2>&1)"; done
    echo "node $(node --version)"
    echo "nginx site $(readlink /etc/nginx/sites-enabled/${appName}.conf); enabled: $(ls /etc/nginx/sites-enabled | tr '\\n' ' ')"
    for f in /etc/postgresql/*/main/conf.d/${appName}.conf; do echo "postgres conf.d $(sha256sum <"$f" | cut -c1-16)"; done
    echo "app role $(runuser -u postgres -- psql -XAt -d postgres -c "SELECT array_to_string(setconfig, ',') FROM pg_db_role_setting JOIN pg_roles r ON r.oid = setrole WHERE r.rolname = '${appName.replace(/-/g, "_")}'")"
    echo "setup $(cut -d' ' -f1-2 /var/lib/todo-setup/done)"
  `;
  return (await box.exec(script)).stdout.trim().split("\n");
}

export async function runPreviousVersion(p: PreviousVersion, fresh: string[]): Promise<void> {
  const { log } = p;
  const id = `${p.id}p`;
  const subnet = process.env.REHEARSAL_PREVIOUS_SUBNET ?? `10.214.${randomBytes(1)[0]! & 0xfc}`;
  const network = await log.step("previous version: a second server's network", () =>
    createPrivateNetwork(id, subnet, p.cleanup),
  );
  const box = new Container(
    {
      name: `todo-rehearsal-${id}`,
      runDir: join(p.runDir, "previous"),
      lowerDir: p.rootfs,
      network,
      aptCacheDir: p.aptCacheDir,
      // Sized like the first server: the kit plans memory from the machine, and the converged
      // server is compared with that one file by file.
      size: ECS_2C2G,
    },
    p.cleanup,
  );
  try {
    await log.step("previous version: boot its user data (test/fixtures/previous-user-data.yaml)", async () => {
      await box.prepare();
      await box.writeSeed(previousUserData(p.mirrorUrl), `rehearsal-${id}`, "todo-rehearsal-previous");
      await box.boot();
      const result = await waitForCloudInit(box, p.cloudInitTimeoutMs, () => undefined);
      log.info(result.detail);
      await expectSystemRunning(box, log);
      const header = (await box.exec("sed -n 2p /usr/local/sbin/todo-setup")).stdout.trim();
      log.info(`todo-setup from the old user data: ${header}`);
    });
    await log.step(`previous version: deploy this release (${p.release.hash}); it converges the server`, async () => {
      const result = await deployInContainer(box, p.release, { hostSettings: p.hostSettings });
      log.info(
        result.output
          .trim()
          .split("\n")
          .filter((l) => /^(install|kit|todo-setup):/.test(l))
          .join("\n"),
      );
      if (result.code !== 0) throw new Error(`the deploy exited ${result.code}:\n${result.output}`);
    });
    await log.check(
      "previous version: the converged server equals a fresh one (files, units, Node.js, sites, PostgreSQL) and serves",
      async () => {
        const converged = await serverFingerprint(box, p.appName, p.appPorts);
        const onlyFresh = fresh.filter((line) => !converged.includes(line));
        const onlyConverged = converged.filter((line) => !fresh.includes(line));
        log.info(
          `${converged.length} facts compared (${converged.filter((l) => l.startsWith("file ")).length} installed files)`,
        );
        const api = new RehearsalClient(`http://${network.containerAddress}`);
        const ready = await api.request("GET", "/readyz");
        log.info(`GET /readyz on the converged server → ${ready.status}`);
        const problems = [
          ...onlyFresh.map((l) => `fresh:     ${l}`),
          ...onlyConverged.map((l) => `converged: ${l}`),
          ...(ready.status === 200 ? [] : [`/readyz answered ${ready.status}`]),
        ];
        if (problems.length) throw new Error(`the converged server differs from a fresh one:\n${problems.join("\n")}`);
        const second = await deployInContainer(box, p.release, { hostSettings: p.hostSettings });
        const kit = second.output.split("\n").filter((l) => /^kit: (updated|removed|rewrote)/.test(l));
        log.info(
          `a second deploy of the same release: ${kit.length ? kit.join("; ") : "every server file is up to date"}`,
        );
        if (second.code !== 0 || kit.length)
          throw new Error(`the second deploy changed files or failed (exit ${second.code}):\n${second.output}`);
      },
    );
  } finally {
    // This server is done with; stopping it now gives its memory back before the rehearsal ends.
    await box.poweroff();
  }
}
