import { randomBytes } from "node:crypto";
import type { RehearsalClient } from "./api.js";
import type { Container } from "./container.js";
import { deployInContainer } from "./deploy.js";
import type { Release } from "./releases.js";
import {
  expectActive,
  expectServerAsDocumented,
  expectSetupIdempotent,
  releaseStatus,
  waitFor,
} from "./server-checks.js";
import { expectAppCannotReachMetadata } from "./metadata-check.js";
import { runSmokeTest } from "./smoke-test.js";
import { expectFirewallFromOutside } from "./firewall-check.js";
import type { StepLog } from "./steps.js";
import { runReleaseScenarios } from "./release-scenarios.js";

/**
 * What happens to the server after cloud-init has set it up: the life of a deployment, from the
 * first release to a restore, each step checked through Nginx as a client would see it.
 */
export interface Scenario {
  box: Container;
  api: RehearsalClient;
  releases: { base: Release; second: Release; migrating: Release; broken: Release };
  log: StepLog;
  appName: string;
  appPorts: number[];
  id: string;
  /** The host settings every deploy writes first, as the stack's deploy step does. */
  hostSettings?: string;
}

export async function runScenario({
  box,
  api,
  releases,
  log,
  appName,
  appPorts,
  id,
  hostSettings,
}: Scenario): Promise<void> {
  const deploy = async (release: Release) => {
    // The stack's deploy step uploads the tarball and runs these steps over SSH (server kit, then
    // todo-release deploy); here the tarball is copied into the container and they run via nsenter.
    const result = await deployInContainer(box, release, { hostSettings });
    log.info(result.output.trim());
    return result;
  };
  const expectCurrent = async (hash: string) => {
    const status = await releaseStatus(box);
    log.info(status.text);
    if (status.current !== hash) throw new Error(`todo-release status: current is ${status.current}, expected ${hash}`);
  };

  await log.step(`deploy release ${releases.base.hash} with todo-release`, async () => {
    const result = await deploy(releases.base);
    if (result.code !== 0) throw new Error(`todo-release deploy exited ${result.code}`);
    await expectCurrent(releases.base.hash);
    await expectActive(
      box,
      appPorts.map((p) => `${appName}@${p}`),
    );
  });
  await log.step("through Nginx on port 80: /healthz and /readyz", async () => {
    for (const path of ["/healthz", "/readyz"]) {
      const body = await api.expect(200, "GET", path);
      log.info(`GET ${api.baseUrl}${path} → 200 ${JSON.stringify(body)}`);
    }
  });
  await log.check("smoke test through Nginx (register, login, CRUD, refresh, logout)", () =>
    runSmokeTest(api.baseUrl, log),
  );

  await log.check("the server as documented (listeners, env file, service user, SCRAM, no leaked secret)", () =>
    expectServerAsDocumented(box, appName, log),
  );
  await log.check("the app unit cannot reach the metadata service (IPAddressDeny=), a process outside it can", () =>
    expectAppCannotReachMetadata(box, appName, log),
  );
  await log.check("the host firewall from outside: 80 and 22 pass, a stray listener's port is dropped", () =>
    expectFirewallFromOutside(box, new URL(api.baseUrl).hostname, appName, log),
  );
  await log.check("todo-setup run again changes nothing", async () => {
    await expectSetupIdempotent(box, appName, log);
    await api.expect(200, "GET", "/readyz");
  });

  const user = { username: `rehearsal_${id}`, password: `Rehearsal-${randomBytes(6).toString("hex")}` };
  const todoTitle = `written before the reboot (${id})`;
  const data = await log.step("leave data on the server for the later checks", async () => {
    await api.register(user.username, user.password);
    const token = await api.login(user.username, user.password);
    const todoId = await api.createTodo(token, todoTitle);
    log.info(`user ${user.username}, todo ${todoId}`);
    return { token, todoId };
  });

  await runReleaseScenarios({
    box,
    api,
    releases,
    log,
    appName,
    appPorts,
    token: data.token,
    deploy,
    expectCurrent,
    expectDataKept: async () => {
      const token = await api.login(user.username, user.password);
      const title = await api.todoTitle(token, data.todoId);
      if (title !== todoTitle) throw new Error(`todo ${data.todoId} after the reboot: ${JSON.stringify(title)}`);
      log.info(`todo ${data.todoId} is still there: "${title}"`);
    },
  });

  await log.check("backup service, then restore", async () => {
    await box.exec(`systemctl start ${appName}-backup.service`, { timeoutMs: 120_000 });
    const dumps = (await box.exec(`ls -l /var/backups/${appName}/`)).stdout.trim();
    log.info(dumps);
    if (!/\.dump\b/.test(dumps)) throw new Error("the backup service wrote no dump");
    const token = await api.login(user.username, user.password);
    await api.expect(204, "DELETE", `/api/v1/todos/${data.todoId}`, { token });
    if ((await api.todoTitle(token, data.todoId)) !== undefined) throw new Error("the todo was not deleted");
    const restore = await box.exec("/usr/local/sbin/todo-restore latest", { timeoutMs: 180_000 });
    log.info(restore.output.trim());
    await expectActive(
      box,
      appPorts.map((p) => `${appName}@${p}`),
    );
    await waitFor(
      () => api.request("GET", "/readyz").then((r) => r.status === 200),
      60_000,
      "/readyz after the restore",
    );
    const title = await api.todoTitle(token, data.todoId);
    if (title !== todoTitle) throw new Error(`todo ${data.todoId} after the restore: ${JSON.stringify(title)}`);
    log.info(`todo ${data.todoId} is back after the restore`);
    if (!restore.output.includes("migrated, every instance ready"))
      throw new Error("todo-restore did not migrate and wait for every instance's /readyz");
  });

  await log.check("the scheduled test restore proves the latest dump restorable, in its sandboxed unit", async () => {
    await box.exec(`systemctl is-enabled ${appName}-backup-verify.timer`);
    await box.exec(`systemctl start ${appName}-backup-verify.service`, { timeoutMs: 180_000 });
    const status = (await box.exec(`cat /var/backups/${appName}/status`)).stdout;
    log.info(status.trim());
    if (!/^last_test_restore=\S+ ok: /m.test(status)) throw new Error("the test restore recorded no success");
    if (!/^last_dump_verified=pg_restore --list$/m.test(status)) throw new Error("the dump was not read back");
    const scratch = await box.exec(
      `runuser -u postgres -- psql -XAtc "SELECT count(*) FROM pg_database WHERE datname LIKE '${appName.replace(/-/g, "_")}\\_verify\\_%'"`,
    );
    if (scratch.stdout.trim() !== "0") throw new Error(`scratch databases left: ${scratch.stdout.trim()}`);
  });
}
