import type { Container } from "./container.js";
import type { StepLog } from "./steps.js";

/** Checks run inside the rehearsal server, as an operator logged in over SSH would. */

/** Waits for systemd to finish starting up; every unit must have started (nothing "degraded"). */
export async function expectSystemRunning(box: Container, log: StepLog): Promise<void> {
  const state = (
    await box.exec("systemctl is-system-running --wait", { allowFailure: true, timeoutMs: 300_000 })
  ).stdout.trim();
  log.info(`systemd: ${state}`);
  if (state !== "running") {
    const failed = await box.exec("systemctl --failed --no-pager --no-legend; journalctl -b --no-pager -p err -n 40", {
      allowFailure: true,
    });
    throw new Error(`the system is "${state}", not "running":\n${failed.output}`);
  }
}

export async function expectActive(box: Container, units: string[]): Promise<void> {
  const result = await box.exec(`systemctl is-active ${units.join(" ")}`, { allowFailure: true });
  const states = result.stdout.trim().split("\n");
  const inactive = units.filter((_, i) => states[i] !== "active");
  if (inactive.length > 0) {
    const detail = await box.exec(`systemctl status --no-pager -n 20 ${inactive.join(" ")}`, { allowFailure: true });
    throw new Error(`not active: ${inactive.join(", ")}\n${detail.output}`);
  }
}

export interface ReleaseStatus {
  current: string;
  previous: string;
  text: string;
}

export async function releaseStatus(box: Container): Promise<ReleaseStatus> {
  const result = await box.exec("todo-release status", { allowFailure: true });
  const field = (name: string) => new RegExp(`^${name}:\\s*(\\S+)`, "m").exec(result.stdout)?.[1] ?? "";
  if (result.code !== 0) throw new Error(`todo-release status exited ${result.code}:\n${result.output}`);
  return { current: field("current"), previous: field("previous"), text: result.stdout.trim() };
}

/**
 * What docs/server.md promises about the running server, checked on the real system: only Nginx
 * (and SSH) listen beyond loopback, the env file's owner and mode, the service user, PostgreSQL's
 * password hashing, and that no generated secret leaked into the user data or the logs.
 */
export async function expectServerAsDocumented(box: Container, appName: string, log: StepLog): Promise<void> {
  const problems: string[] = [];

  const listeners = (await box.exec("ss -Hltnp")).stdout.trim().split("\n").filter(Boolean);
  for (const line of listeners) {
    const local = line.split(/\s+/)[3] ?? "";
    const port = Number(local.slice(local.lastIndexOf(":") + 1));
    const loopback = /^(127\.0\.0\.\d+|\[::1\]):/.test(local);
    if (!loopback && port !== 80 && port !== 443 && port !== 22) problems.push(`listens beyond loopback: ${line}`);
    if (!loopback && /postgres|node/.test(line)) problems.push(`app or database reachable from outside: ${line}`);
  }
  log.info(
    `listeners: ${listeners.map((l) => `${l.split(/\s+/)[3]} ${/users:\(\("([^"]+)"/.exec(l)?.[1] ?? ""}`).join(", ")}`,
  );

  const envStat = (await box.exec(`stat -c '%U:%G %a' /etc/${appName}/env`)).stdout.trim();
  if (envStat !== `root:${appName} 640`)
    problems.push(`/etc/${appName}/env is ${envStat}, expected root:${appName} 640`);

  const user = (
    await box.exec(`ps -o user= -p "$(systemctl show -p MainPID --value ${appName}@3001)"`, { allowFailure: true })
  ).stdout.trim();
  if (user !== appName) problems.push(`${appName}@3001 runs as "${user}", expected ${appName}`);

  const scram = (
    await box.exec(
      `runuser -u postgres -- psql -XAt -c "SELECT rolpassword LIKE 'SCRAM-SHA-256\\$%' FROM pg_authid WHERE rolname = '${appName.replace(
        /-/g,
        "_",
      )}'"`,
      { allowFailure: true },
    )
  ).stdout.trim();
  if (scram !== "t")
    problems.push(`the database role's password is not stored as SCRAM-SHA-256 (${scram || "no role"})`);

  // The secrets are generated on the server; none may appear in what the cloud (user data) or the
  // logs hold. Searched here in Node, so the secrets never go on a command line.
  const env = await box.readFile(`etc/${appName}/env`);
  const secrets = [
    /^JWT_SECRET=(.+)$/m.exec(env)?.[1],
    /^DATABASE_URL=postgres:\/\/[^:]+:([^@]+)@/m.exec(env)?.[1],
  ].filter((s): s is string => Boolean(s && s.length >= 16));
  if (secrets.length < 2) problems.push("the env file lacks a generated JWT_SECRET or DATABASE_URL password");
  const places: [string, string][] = [
    ["user data", await box.readFile("var/lib/cloud/seed/nocloud/user-data")],
    ["cloud-init-output.log", await box.readFile("var/log/cloud-init-output.log")],
    ["cloud-init.log", await box.readFile("var/log/cloud-init.log")],
    ["journal", (await box.exec("journalctl -b -o cat --no-pager", { timeoutMs: 60_000 })).stdout],
    ["nginx access log", await box.readFile(`var/log/nginx/${appName}.access.log`).catch(() => "")],
  ];
  for (const [place, text] of places) {
    if (secrets.some((secret) => text.includes(secret))) problems.push(`a generated secret appears in the ${place}`);
  }
  log.info(`no generated secret in: ${places.map(([p]) => p).join(", ")}`);

  if (problems.length > 0) throw new Error(problems.join("\n"));
}

/** docs/server.md: running todo-setup again changes nothing and breaks nothing. */
export async function expectSetupIdempotent(box: Container, appName: string, log: StepLog): Promise<void> {
  const watched = [`/etc/${appName}/env`, `/etc/nginx/conf.d/${appName}.conf`, "/etc/todo-host.conf", "/opt/node"];
  const fingerprint = () =>
    box.exec(`sha256sum /etc/${appName}/env /etc/nginx/conf.d/${appName}.conf /etc/todo-host.conf; readlink /opt/node`);
  const before = (await fingerprint()).stdout;
  const rerun = await box.exec("/usr/local/sbin/todo-setup", { allowFailure: true, timeoutMs: 300_000 });
  log.info(rerun.output.trim().split("\n").slice(-4).join("\n"));
  if (rerun.code !== 0) throw new Error(`todo-setup exited ${rerun.code} when run again`);
  const after = (await fingerprint()).stdout;
  if (after !== before)
    throw new Error(`todo-setup changed ${watched.join(", ")} when run again:\n${before}\n→\n${after}`);
  await expectActive(box, [`${appName}@3001`, `${appName}@3002`, "nginx", "postgresql"]);
}

/** Polls `check` every 500 ms until it holds, or fails naming `what` after `timeoutMs`. */
export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
