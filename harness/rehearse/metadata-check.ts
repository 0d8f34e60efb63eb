import type { Container } from "./container.js";
import type { StepLog } from "./steps.js";

/** Volcengine's ECS metadata service, which hands out the backup role's credentials. */
const METADATA = "100.96.0.96";
/**
 * The stand-in's port. Not 80: Nginx listens on *:80, so it would answer on the address too (the
 * filter is by address, so the port makes no difference to what is checked).
 */
const PORT = 8096;

/**
 * A request to http://${METADATA}:${PORT}/ that prints what it got: `status <code>` when something
 * answered, `error <code>` when the connection failed or did not finish within 3 s (the BPF filter
 * drops the packets, so a blocked connect usually times out: `error TIMEOUT`).
 */
const PROBE = `/usr/local/bin/node -e '
const req = require("http").get({ host: "${METADATA}", port: ${PORT}, path: "/latest/api/token", timeout: 3000 }, (res) => { console.log("status " + res.statusCode); process.exit(0); });
req.on("timeout", () => { console.log("error TIMEOUT"); process.exit(0); });
req.on("error", (e) => { console.log("error " + (e.code || e.message)); process.exit(0); });
'`;

/**
 * The app unit cannot reach the metadata service (IPAddressDeny= in app@.service).
 * A stand-in answers on ${METADATA} inside the container's network namespace. The same request is
 * made twice: as root outside the unit (must be answered: the stand-in works and nothing else
 * blocks it), and as the app user from inside the running app instance's cgroup (must fail).
 * systemd enforces IPAddressDeny= with a BPF program attached to the unit's cgroup, so a process
 * moved into that cgroup (its PID written to cgroup.procs) is filtered exactly as the app's own
 * process is; `nsenter -t <MainPID>` would not do (it joins namespaces, not the cgroup), and
 * `systemd-run` would start another unit with its own properties. Without the deny the second
 * request is answered and the check fails.
 */
export async function expectAppCannotReachMetadata(box: Container, appName: string, log: StepLog): Promise<void> {
  const unit = `${appName}@3001.service`;
  await box.exec(
    `ip addr add ${METADATA}/32 dev lo 2>/dev/null || true
systemd-run --quiet --unit=rehearsal-metadata --property=Type=exec /usr/local/bin/node -e 'require("http").createServer((q, r) => r.end("token")).listen(${PORT}, "${METADATA}")'`,
  );
  try {
    let outside = "";
    for (let i = 0; i < 20 && !outside.startsWith("status "); i++) {
      outside = (await box.exec(PROBE)).stdout.trim();
      if (!outside.startsWith("status ")) await new Promise((r) => setTimeout(r, 250));
    }
    log.info(`from the host, outside the app unit: ${outside}`);
    if (outside !== "status 200")
      throw new Error(
        `the metadata stand-in on ${METADATA} is not reachable even from outside the app unit: ${outside}`,
      );

    const cgroup = (await box.exec(`systemctl show -P ControlGroup ${unit}`)).stdout.trim();
    if (!cgroup) throw new Error(`${unit} has no cgroup (not running?)`);
    const procs = `/sys/fs/cgroup${cgroup}/cgroup.procs`;
    const inside = await box.exec(
      `test -w '${procs}' || { echo "no ${procs}: IPAddressDeny= needs the unified cgroup hierarchy (v2)"; exit 1; }
sh -c 'echo $$ > "${procs}" && exec runuser -u ${appName} -- ${PROBE.replace(/'/g, `'\\''`)}'`,
      { allowFailure: true },
    );
    const answer = inside.stdout.trim();
    log.info(`as ${appName}, inside ${unit}'s cgroup ${cgroup}: ${answer}`);
    if (inside.code !== 0) throw new Error(`could not run the request inside ${unit}: ${inside.output}`);
    if (!/^error (TIMEOUT|EPERM|EACCES)$/.test(answer)) {
      throw new Error(`the app unit reached the metadata service (${answer}): IPAddressDeny= is not in effect`);
    }
  } finally {
    await box.exec(`systemctl stop rehearsal-metadata.service; ip addr del ${METADATA}/32 dev lo`, {
      allowFailure: true,
    });
  }
}
