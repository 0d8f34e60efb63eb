import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { renderedFiles, run, variants, SHELL_LIBRARY_ENV } from "./helpers.js";

/** `todo-bootstrap packages` with stand-in dpkg and apt-get on PATH: what each variant installs, and retries. */
const dir = mkdtempSync(join(tmpdir(), "setup-packages-"));
const bin = join(dir, "bin");
const calls = join(dir, "apt.log");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeEach(() => {
  rmSync(calls, { force: true });
  rmSync(join(dir, "failures"), { force: true });
  mkdirSync(bin, { recursive: true });
  // dpkg: nothing is installed except what INSTALLED lists
  writeFileSync(
    join(bin, "dpkg"),
    `#!/bin/sh\n[ "$1" = --configure ] && { echo "dpkg $*" >>"${calls}"; exit 0; }\ncase " $INSTALLED " in *" $2 "*) echo "Status: install ok installed" ;; *) exit 1 ;; esac\n`,
  );
  // apt-get: records its arguments; "install" fails FAIL_TIMES times first
  writeFileSync(
    join(bin, "apt-get"),
    `#!/bin/sh\necho "$*" >>"${calls}"\ncase "$*" in *install*)\n  n=$(cat "${dir}/failures" 2>/dev/null || echo 0)\n  if [ "$n" -lt "\${FAIL_TIMES:-0}" ]; then echo $((n + 1)) >"${dir}/failures"; exit 100; fi ;;\nesac\n`,
  );
  writeFileSync(join(bin, "sleep"), "#!/bin/sh\n"); // no real waiting between retries
  for (const f of ["dpkg", "apt-get", "sleep"]) chmodSync(join(bin, f), 0o755);
});

function setupPackages(variant: keyof typeof variants, env: Record<string, string> = {}) {
  const files = renderedFiles(variants[variant]!);
  writeFileSync(join(dir, "todo-bootstrap"), files.get("/usr/local/sbin/todo-bootstrap")!.content);
  writeFileSync(join(dir, "host.conf"), files.get("/etc/todo-host.conf")!.content);
  return run("bash", [join(dir, "todo-bootstrap"), "packages"], {
    env: {
      PATH: `${bin}:${process.env.PATH}`,
      ...SHELL_LIBRARY_ENV,
      TODO_HOST_CONF: join(dir, "host.conf"),
      TODO_BOOTSTRAP_LOCK: join(dir, "lock"),
      ...env,
    },
  });
}
const installs = () =>
  readFileSync(calls, "utf8")
    .trim()
    .split("\n")
    .filter((l) => l.includes(" install "));

describe("todo-bootstrap packages", () => {
  it.each([
    ["local, no domain", ["postgresql"], ["certbot"]],
    ["rds, no domain", [], ["postgresql", "certbot"]],
    ["local, domain", ["postgresql", "certbot"], []],
    ["rds, domain", ["certbot"], ["postgresql"]],
  ] as const)("%s: installs the variant's packages, waiting for apt's lock", (variant, wanted, unwanted) => {
    const r = setupPackages(variant);
    expect(r.status, r.stderr).toBe(0);
    const [line] = installs();
    expect(line).toContain("-o DPkg::Lock::Timeout=300");
    expect(line).toContain("-o Acquire::http::Timeout=30");
    expect(line).toContain("install -y -qq --no-install-recommends");
    for (const p of [
      "nginx",
      "curl",
      "ca-certificates",
      "xz-utils",
      "openssl",
      "unattended-upgrades",
      "logrotate",
      "nftables",
      ...wanted,
    ]) {
      expect(line!.split(" ")).toContain(p);
    }
    for (const p of unwanted) expect(line!.split(" ")).not.toContain(p);
    expect(readFileSync(calls, "utf8")).toContain(" update -qq");
    // An install a reboot interrupted is finished before apt runs.
    expect(readFileSync(calls, "utf8").split("\n")[0]).toBe("dpkg --configure -a");
  });

  it("installs only what is missing, and nothing when all is there", () => {
    setupPackages("local, no domain", { INSTALLED: "nginx curl ca-certificates xz-utils openssl logrotate nftables" });
    expect(installs()[0]).toMatch(/--no-install-recommends unattended-upgrades postgresql$/);
    rmSync(calls, { force: true });
    const r = setupPackages("local, no domain", {
      INSTALLED: "nginx curl ca-certificates xz-utils openssl unattended-upgrades logrotate nftables postgresql",
    });
    expect(r.status).toBe(0);
    expect(() => readFileSync(calls)).toThrow();
  });

  it("retries a failing apt-get, and gives up with a clear error after five attempts", () => {
    const ok = setupPackages("rds, no domain", { FAIL_TIMES: "2" });
    expect(ok.status, ok.stderr).toBe(0);
    expect(installs()).toHaveLength(3);
    rmSync(calls, { force: true });
    rmSync(join(dir, "failures"), { force: true });
    const bad = setupPackages("rds, no domain", { FAIL_TIMES: "9" });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain("could not install nginx");
    expect(installs()).toHaveLength(5);
  });
});
