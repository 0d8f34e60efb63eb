import { setTimeout as sleep } from "node:timers/promises";
import type { RehearsalClient } from "./api.js";
import type { Container } from "./container.js";
import { REHEARSAL_MIGRATION, type Release } from "./releases.js";
import { expectActive, expectSystemRunning, releaseStatus, waitFor } from "./server-checks.js";
import { emulateEarlierKit, expectOnSockets, expectRestartLosesNothing } from "./socket-activation.js";
import type { StepLog } from "./steps.js";
import { describeReport, startWriteTraffic, type WriteTrafficReport } from "./write-traffic.js";

/**
 * Releases forward and back across a schema change, and a reboot, each under clients that write
 * (POST, PATCH, DELETE and GET, kept-alive and not). Every scenario must end with 0 failed requests.
 *
 *   rolling deploy of the second release
 *   → a release that adds a migration (todo-release migrates once, then switches)
 *   → a broken release made from it: rolls back by itself to the migrated release
 *   → `todo-release rollback` to the second release, which does not know that migration
 *     (it starts against a database ahead of it and says so in its log)
 *   → a reboot: the second release comes back by itself on the migrated database.
 */
export interface ReleaseScenarios {
  box: Container;
  api: RehearsalClient;
  releases: { second: Release; migrating: Release; broken: Release };
  log: StepLog;
  appName: string;
  appPorts: number[];
  token: string;
  deploy(release: Release): Promise<{ code: number | null; output: string }>;
  expectCurrent(hash: string): Promise<void>;
  /** Checks that the data written before is still there after the reboot. */
  expectDataKept(): Promise<void>;
}

export async function runReleaseScenarios(s: ReleaseScenarios): Promise<void> {
  const { box, api, releases, log, appName } = s;
  const figures: { name: string; report: WriteTrafficReport }[] = [];
  const dbName = appName.replace(/-/g, "_");

  const underWrites = async (name: string, body: () => Promise<void>, minRequests = 50) => {
    const traffic = startWriteTraffic(api.baseUrl, s.token);
    const outcome = await body().then(
      () => undefined,
      (error: unknown) => error,
    );
    const report = await traffic.stop();
    figures.push({ name, report });
    log.info(`traffic: ${describeReport(report)}${report.samples.length ? `\n${report.samples.join("\n")}` : ""}`);
    if (outcome !== undefined) throw outcome;
    if (report.requests < minRequests) throw new Error(`only ${report.requests} requests were made`);
    if (report.failures > 0) {
      log.info(await nginxFailures(box, appName));
      throw new Error(`${report.failures} requests failed`);
    }
  };
  const psql = async (query: string) =>
    (await box.exec(`runuser -u postgres -- psql -XAtq -d ${dbName} -c "${query}"`)).stdout.trim();
  const hasMigration = async () =>
    (await psql(
      `select count(*) from information_schema.columns where table_name = 'todos' and column_name = 'rehearsal_note'`,
    )) === "1";

  // The deploy below is also a server's first deploy of a kit with socket units (socket-activation.ts).
  await log.check("instances bound to their ports by themselves, as under a kit without socket units", () =>
    emulateEarlierKit(box, appName, s.appPorts, log),
  );
  await log.check(`rolling deploy of release ${releases.second.hash} under writes`, () =>
    underWrites("rolling deploy", async () => {
      const result = await s.deploy(releases.second);
      if (result.code !== 0) throw new Error(`todo-release deploy exited ${result.code}`);
      if (!/draining/.test(result.output)) throw new Error("todo-release did not drain the instances out of Nginx");
      if (!/onto its socket unit/.test(result.output))
        throw new Error("todo-release did not move the instances onto their socket units");
      await s.expectCurrent(releases.second.hash);
    }),
  );
  await log.check("the rolling deploy moved every instance onto its socket unit", () =>
    expectOnSockets(box, appName, s.appPorts, log),
  );

  await log.check(`release ${releases.migrating.hash} adds migration ${REHEARSAL_MIGRATION}, under writes`, () =>
    underWrites("release with a migration", async () => {
      const result = await s.deploy(releases.migrating);
      if (result.code !== 0) throw new Error(`todo-release deploy exited ${result.code}`);
      if (!result.output.includes(`applied ${REHEARSAL_MIGRATION}`))
        throw new Error("todo-release did not run the new migration");
      await s.expectCurrent(releases.migrating.hash);
      if (!(await hasMigration())) throw new Error("the new column is not in the database");
    }),
  );

  await log.check(
    `release ${releases.broken.hash} (after the migration) fails its health check and is rolled back`,
    () =>
      underWrites("broken release, automatic rollback", async () => {
        const result = await s.deploy(releases.broken);
        if (result.code === 0) throw new Error("todo-release deploy of a release that cannot start succeeded");
        if (!/rolled back/.test(result.output)) throw new Error("todo-release did not report a rollback");
        // the failed deploy's uploaded tarball is gone (contract/deploy-steps.ts)
        const left = (await box.exec("ls /var/tmp/ | grep -c '^todo-api-.*\\.tar\\.gz$' || true")).stdout.trim();
        log.info(`release tarballs left in /var/tmp after the failed deploy: ${left}`);
        if (left !== "0") throw new Error(`the failed deploy left ${left} release tarball(s) in /var/tmp`);
        await s.expectCurrent(releases.migrating.hash);
        await api.expect(200, "GET", "/readyz");
      }),
  );

  await log.check(`todo-release rollback across the migration to ${releases.second.hash}, under writes`, () =>
    underWrites("todo-release rollback across the migration", async () => {
      const since = (await box.exec("date +%s")).stdout.trim();
      const result = await box.exec("/usr/local/sbin/todo-release rollback", {
        allowFailure: true,
        timeoutMs: 300_000,
      });
      log.info(result.output.trim());
      if (result.code !== 0) throw new Error(`todo-release rollback exited ${result.code}`);
      await s.expectCurrent(releases.second.hash);
      if (!(await hasMigration())) throw new Error("the rollback reverted the migration (it must not)");
      const journal = await box.exec(`journalctl -q --no-pager -u '${appName}@*' --since @${since} -o cat`);
      const ahead = journal.stdout.split("\n").filter((l) => l.includes("ahead of this release"));
      if (ahead.length < s.appPorts.length)
        throw new Error("the instances did not log that the database is ahead of them");
      log.info(`${ahead.length} instance start(s) logged: ${ahead[0]!.slice(0, 200)}`);
    }),
  );

  await log.check(
    "reboot the server: services come back by themselves, data survives, writes succeed at once",
    async () => {
      const before = await releaseStatus(box);
      await box.poweroff();
      await box.boot();
      await expectSystemRunning(box, log);
      await expectActive(box, [
        "nginx",
        "postgresql",
        `${appName}-backup.timer`,
        ...s.appPorts.map((p) => `${appName}@${p}`),
      ]);
      // An instance is "active" as soon as its process starts; it answers a moment later. Until then
      // Nginx answers 503, as it would to a load balancer's health check.
      const booted = Date.now();
      await waitFor(
        () => api.request("GET", "/readyz").then((r) => r.status === 200),
        60_000,
        "/readyz after the reboot",
      );
      log.info(`/readyz answered 200 ${Date.now() - booted} ms after every unit was active`);
      // from the moment the server answers again, writes must not fail
      await underWrites("after a reboot", () => sleep(8_000));
      await s.expectDataKept();
      await s.expectCurrent(before.current);
    },
  );

  await log.check(
    `systemctl restart ${appName}@${s.appPorts[0]} under 50 clients without keep-alive, no Nginx: nothing fails`,
    () => expectRestartLosesNothing(box, appName, s.appPorts[0]!, s.token, log),
  );

  log.info(
    [
      "traffic per scenario (requests, failed, p99 latency):",
      ...figures.map(
        ({ name, report: r }) =>
          `  ${name.padEnd(45)} ${String(r.requests).padStart(6)} requests ${String(r.failures).padStart(4)} failed  p99 ${r.p99Ms.toFixed(0).padStart(5)} ms`,
      ),
    ].join("\n"),
  );
}

/** What Nginx saw when clients got errors: its error log and the failed requests of its access log. */
export async function nginxFailures(box: Container, appName: string): Promise<string> {
  const result = await box.exec(
    `tail -n 20 /var/log/nginx/error.log; echo; grep -h '"status":5' /var/log/nginx/${appName}.access.log | tail -n 5`,
    { allowFailure: true },
  );
  return `nginx:\n${result.output.trim()}`;
}
