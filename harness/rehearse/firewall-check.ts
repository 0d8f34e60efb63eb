import { Socket } from "node:net";
import type { Container } from "./container.js";
import type { StepLog } from "./steps.js";

/**
 * The host firewall (cloud-init/etc/firewall.nft, loaded by <app>-firewall.service), seen from
 * outside the server as a client on the internet would: from the host end of the veth, TCP to 80
 * and 22 connects; to a port something on the server listens on by mistake (a throw-away listener
 * on 0.0.0.0, standing for a debug server or a database bound too widely) it does not — the
 * packets are dropped. Then the table is deleted by hand: the same port must connect (so the check
 * can fail); a restart of the unit (what todo-setup does when the rules change) loads it again:
 * dropped again. Stopping the unit does not unload the firewall (it has no ExecStop=).
 */
const STRAY_PORT = 4444;
const CONNECT_TIMEOUT_MS = 2_000;

/** "open" when a TCP connection is accepted, "refused" on RST, "dropped" when nothing answers. */
export function probe(
  host: string,
  port: number,
  timeoutMs = CONNECT_TIMEOUT_MS,
): Promise<"open" | "refused" | "dropped"> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (result: "open" | "refused" | "dropped") => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done("dropped"));
    socket.once("connect", () => done("open"));
    socket.once("error", (error: NodeJS.ErrnoException) => done(error.code === "ECONNREFUSED" ? "refused" : "dropped"));
    socket.connect(port, host);
  });
}

export async function expectFirewallFromOutside(
  box: Container,
  address: string,
  appName: string,
  log: StepLog,
): Promise<void> {
  const unit = `${appName}-firewall.service`;
  const state = await box.exec(
    `systemctl is-active ${unit}; nft list table inet ${appName.replace(/-/g, "_")}_firewall | grep -c 'policy drop\\|tcp dport { 22, 80, 443 } accept'`,
    { allowFailure: true },
  );
  log.info(`${unit}: ${state.stdout.trim().replace("\n", ", rules matched: ")}`);
  if (!/^active\n2$/.test(state.stdout.trim())) throw new Error(`${unit} is not loaded:\n${state.output}`);

  const listener = await box.exec(
    `setsid node -e 'require("net").createServer((s) => s.end("stray\\n")).listen(${STRAY_PORT}, "0.0.0.0")' </dev/null >/dev/null 2>&1 & echo $!; ` +
      `for i in $(seq 50); do ss -Hltn "sport = :${STRAY_PORT}" | grep -q . && break; sleep 0.1; done; ss -Hltn "sport = :${STRAY_PORT}"`,
  );
  const pid = listener.stdout.trim().split("\n")[0]!;
  if (!listener.stdout.includes(`0.0.0.0:${STRAY_PORT}`))
    throw new Error(`the stray listener did not start:\n${listener.output}`);
  try {
    const seen = async () => ({
      80: await probe(address, 80),
      22: await probe(address, 22),
      [STRAY_PORT]: await probe(address, STRAY_PORT),
    });
    const loaded = await seen();
    log.info(`from outside (${address}), firewall loaded: ${JSON.stringify(loaded)}`);
    const problems: string[] = [];
    if (loaded[80] !== "open") problems.push(`port 80 is ${loaded[80]}`);
    // refused also passed the firewall (the kernel answered): whether sshd runs is not the point
    if (loaded[22] === "dropped") problems.push("port 22 is dropped");
    if (loaded[STRAY_PORT] !== "dropped")
      problems.push(`port ${STRAY_PORT} (a listener on 0.0.0.0) is ${loaded[STRAY_PORT]}, expected dropped`);

    const table = `${unit.replace(/-firewall(\.service)?$/, "").replace(/-/g, "_")}_firewall`;
    await box.exec(`nft delete table inet ${table}`);
    const without = await probe(address, STRAY_PORT);
    await box.exec(`systemctl restart ${unit}`);
    const again = await probe(address, STRAY_PORT);
    log.info(`port ${STRAY_PORT} with the table deleted: ${without}; after a restart of the unit: ${again}`);
    if (without !== "open")
      problems.push(`with the firewall's table deleted port ${STRAY_PORT} is ${without}: the probe proves nothing`);
    if (again !== "dropped") problems.push(`after restarting the unit port ${STRAY_PORT} is ${again}`);
    if (problems.length) throw new Error(problems.join("\n"));
  } finally {
    await box.exec(`kill ${pid} 2>/dev/null || true; systemctl restart ${unit}`, { allowFailure: true });
  }
}
