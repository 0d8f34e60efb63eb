import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Container } from "./container.js";
import type { StepLog } from "./steps.js";

/**
 * The instances' listening sockets belong to systemd (app@.socket): checks that need the real
 * systemd of the rehearsal server.
 *
 * - `systemctl restart` of an instance under 50 clients without keep-alive, straight to its port
 *   with no Nginx in front (restart-load.mjs runs inside the server): nothing fails, connections
 *   made while no process accepts wait for the next one.
 * - A server whose kit predates socket activation: its instances bind their ports themselves.
 *   `emulateEarlierKit` puts the server in that state (the socket unit file gone, the instances
 *   started without it); the next deploy, under writes through Nginx, must move every instance onto
 *   its socket unit without a failed request (`expectOnSockets` after it).
 */
export async function expectRestartLosesNothing(
  box: Container,
  appName: string,
  port: number,
  token: string,
  log: StepLog,
): Promise<void> {
  const script = await readFile(join(import.meta.dirname, "restart-load.mjs"));
  await box.writeFile("/root/restart-load.mjs", script, 0o600);
  await box.writeFile("/root/restart-load.token", token, 0o600);
  await expectOnSockets(box, appName, [port], log);
  const result = await box.exec(
    `TOKEN_FILE=/root/restart-load.token PORT=${port} RESTART='systemctl restart ${appName}@${port}' ` +
      "/usr/local/bin/node /root/restart-load.mjs",
    { timeoutMs: 300_000, allowFailure: true },
  );
  await box.exec("rm -f /root/restart-load.mjs /root/restart-load.token");
  if (result.code !== 0) throw new Error(`the load script failed: ${result.output}`);
  const r = JSON.parse(result.stdout.trim().split("\n").pop()!) as {
    restart: { code: number; output: string };
    requests: number;
    answered: number;
    failedConnected: number;
    refused: number;
    duringRestart: number;
    errors: string[];
  };
  log.info(
    `systemctl restart ${appName}@${port} under 50 clients without keep-alive, no Nginx: ${r.requests} requests, ` +
      `${r.answered} answered 201, ${r.failedConnected} failed after connecting, ${r.refused} never connected, ` +
      `${r.duringRestart} completed while systemctl restart ran (errors: ${r.errors.join(", ") || "none"})`,
  );
  if (r.restart.code !== 0) throw new Error(`systemctl restart failed: ${r.restart.output}`);
  if (r.failedConnected > 0 || r.refused > 0 || r.answered !== r.requests)
    throw new Error(`${r.requests - r.answered} of ${r.requests} requests failed across the restart`);
}

/** Every instance runs on its socket unit, and the process took the socket from systemd. */
export async function expectOnSockets(box: Container, appName: string, ports: number[], log: StepLog): Promise<void> {
  for (const port of ports) {
    const socket = `${appName}@${port}.socket`;
    const state = await box.exec(`systemctl is-active ${socket}; systemctl is-enabled ${socket}`, {
      allowFailure: true,
    });
    const [active, enabled] = state.stdout.trim().split("\n");
    // the listening socket is shared: systemd (pid 1) and the instance's process (its MainPID)
    // both hold it (node names its main thread "MainThread", so pids are compared, not names)
    const holders = (await box.exec(`ss -Hltnp 'sport = :${port}'`)).stdout.trim();
    const mainPid = (await box.exec(`systemctl show -p MainPID --value ${appName}@${port}.service`)).stdout.trim();
    log.info(`${socket}: ${active}, ${enabled}; MainPID ${mainPid}; ${holders.replace(/\s+/g, " ")}`);
    if (active !== "active" || enabled !== "enabled") throw new Error(`${socket} is ${active}, ${enabled}`);
    if (!holders.includes("pid=1,") || !holders.includes(`pid=${mainPid},`))
      throw new Error(`127.0.0.1:${port} is not held by both systemd and ${appName}@${port} (${mainPid}): ${holders}`);
  }
}

/**
 * The state of a server set up by a kit without socket units: the unit file is gone and the
 * instances run, each bound to its port by itself (nothing passes them a socket).
 */
export async function emulateEarlierKit(box: Container, appName: string, ports: number[], log: StepLog) {
  const sockets = ports.map((p) => `${appName}@${p}.socket`).join(" ");
  const services = ports.map((p) => `${appName}@${p}.service`).join(" ");
  await box.exec(
    `systemctl disable --quiet --now ${sockets}
systemctl stop ${services}
rm /etc/systemd/system/${appName}@.socket
systemctl daemon-reload
systemctl start ${services}`,
  );
  for (const port of ports) {
    for (let i = 0; ; i++) {
      const ready = await box.exec(`curl -fsS -o /dev/null --max-time 2 http://127.0.0.1:${port}/readyz`, {
        allowFailure: true,
      });
      if (ready.code === 0) break;
      if (i > 120) throw new Error(`${appName}@${port} is not ready after it was started without its socket`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const holders = (await box.exec(`ss -Hltnp 'sport = :${port}'`)).stdout.trim();
    if (holders.includes("pid=1,")) throw new Error(`systemd still holds 127.0.0.1:${port}: ${holders}`);
    log.info(`${appName}@${port} binds its port itself, as under an earlier kit: ${holders.replace(/\s+/g, " ")}`);
  }
}
