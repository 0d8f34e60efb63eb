/**
 * The auto-scaling parts of the kit (cloud-init/fleet-kit.ts): the `seed` and `fleet` options, the
 * host settings they write, which server installs which command and unit, what a fleet member's
 * user data carries, and what happens to a server of the last kit that gains or loses them.
 */
import { spawn } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { optionsFromHostConf } from "../../cloud-init/kit.js";
import { installServerFiles } from "../../cloud-init/kit.js";
import type { CloudInitOptions } from "../../cloud-init/options.js";
import {
  FLEET_MEMBER_USER_DATA_BUDGET_BYTES,
  parseCloudInitOptions,
  renderCloudInit,
  renderHostConf,
  serverFiles,
  USER_DATA_BUDGET_BYTES,
  USER_DATA_LIMIT_BYTES,
} from "../../cloud-init/render.js";
import { decodeCloudConfig, renderedFiles, run, SHELL_LIBRARY_ENV, variants } from "./helpers.js";
import { fleetMember, publisher, seedServer } from "./fleet-variants.js";
import { requireTool } from "../support/tools.js";

const dir = mkdtempSync(join(tmpdir(), "todo-fleet-kit-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const hostConf = (o: CloudInitOptions) => renderHostConf(parseCloudInitOptions(o));
const autoScalingLines = (o: CloudInitOptions) =>
  hostConf(o)
    .split("\n")
    .filter((l) => /^(SEED|FLEET)_/.test(l));

describe("host settings of the auto-scaling options", () => {
  it("name the seed and the fleet as the scripts read them, and only where the options are", () => {
    expect(autoScalingLines(seedServer)).toEqual([
      "SEED_GROUP_ID='scg-ybqm0yoanrwj4bi1c3ne'",
      "SEED_APP_ROLE='todo-api-prod-files'",
      "SEED_REGION='cn-beijing'",
      "SEED_ENDPOINT='https://open.volcengineapi.com'",
      "FLEET_BUCKET='todo-api-prod-private-1a2b3c4d'",
      "FLEET_REGION='cn-beijing'",
      "FLEET_ENDPOINT='https://tos-s3-cn-beijing.volces.com'",
      "FLEET_MEMBER='0'",
    ]);
    expect(autoScalingLines(fleetMember)).toEqual([
      "FLEET_BUCKET='todo-api-prod-private-1a2b3c4d'",
      "FLEET_REGION='cn-beijing'",
      "FLEET_ENDPOINT='https://tos-s3-cn-beijing.volces.com'",
      "FLEET_MEMBER='1'",
      "FLEET_ROLE='todo-api-prod-files'",
    ]);
    for (const o of Object.values(variants)) expect(autoScalingLines(o)).toEqual([]);
    // a trailing slash on an endpoint is dropped, as the scripts drop it
    const slash = {
      ...fleetMember,
      fleet: { ...fleetMember.fleet!, endpoint: "https://tos-s3-cn-beijing.volces.com/" },
    };
    expect(hostConf(slash)).toContain("FLEET_ENDPOINT='https://tos-s3-cn-beijing.volces.com'\n");
  });

  it("survive the kit's round trip (the host settings are what each deploy's kit renders from)", () => {
    for (const o of [seedServer, publisher, fleetMember]) {
      const options = optionsFromHostConf(hostConf(o));
      expect(parseCloudInitOptions(options)).toEqual(parseCloudInitOptions(o));
      expect(hostConf(options)).toBe(hostConf(o));
    }
  });

  it.each([
    [
      { ...fleetMember, fleet: { ...fleetMember.fleet!, endpoint: "http://tos.example.com" } },
      /endpoint must be an https/,
    ],
    [{ ...seedServer, seed: { ...seedServer.seed!, endpoint: "https://open.volcengineapi.com/x" } }, /endpoint/],
    [{ ...seedServer, seed: { ...seedServer.seed!, groupId: "scg-'1" } }, /groupId must be a scaling group id/],
    [{ ...seedServer, seed: { ...seedServer.seed!, appRoleName: "a role" } }, /appRoleName/],
    [{ ...fleetMember, fleet: { ...fleetMember.fleet!, roleName: undefined } }, /fleet.roleName is required/],
    [{ ...fleetMember, fleet: { ...fleetMember.fleet!, bucket: "Bucket" } }, /TOS bucket name/],
    [{ ...seedServer, offsiteBackup: undefined }, /offsiteBackup is required with it/],
    [{ ...publisher, offsiteBackup: undefined }, /offsiteBackup \(or fleet.roleName\) is required/],
    [
      { ...fleetMember, seed: seedServer.seed, offsiteBackup: publisher.offsiteBackup },
      /a fleet member cannot be the seed/,
    ],
    [{ ...fleetMember, fleet: { ...fleetMember.fleet!, extra: 1 } }, /extra/],
  ])("refuses %j", (options, message) => {
    expect(() => parseCloudInitOptions(options as never)).toThrow(message);
  });
});

const FLEET_PATHS = /todo-seed|todo-fleet|seed\.mjs|fleet-(join|publish)\.mjs|volc-openapi|role-client|offsite\.mjs/;
const fleetPaths = (o: CloudInitOptions) =>
  serverFiles(o)
    .map((f) => f.path)
    .filter((p) => FLEET_PATHS.test(p))
    .sort();
const SEED = [
  "/etc/systemd/system/todo-seed.service",
  "/etc/systemd/system/todo-seed.timer",
  "/usr/local/lib/todo/seed.mjs",
  "/usr/local/lib/todo/volc-openapi.mjs",
  "/usr/local/sbin/todo-seed",
];
const PUBLISH = [
  "/usr/local/lib/todo/fleet-publish.mjs",
  "/usr/local/lib/todo/offsite.mjs",
  "/usr/local/sbin/todo-fleet-publish",
];
const MEMBER = [
  "/etc/systemd/system/todo-fleet-sync.service",
  "/etc/systemd/system/todo-fleet-sync.timer",
  "/usr/local/lib/todo/fleet-join.mjs",
  "/usr/local/sbin/todo-fleet-join",
];
const CLIENT = "/usr/local/lib/todo/role-client.mjs";

describe("which server installs which part", () => {
  it("the seed's deploy step: todo-seed and its timer, and todo-fleet-publish", () => {
    expect(fleetPaths(seedServer)).toEqual([...SEED, ...PUBLISH, CLIENT].sort());
  });
  it("server 1 without a scaling group's seed: todo-fleet-publish only", () => {
    expect(fleetPaths(publisher)).toEqual([...PUBLISH, CLIENT].sort());
  });
  it("a fleet member: todo-fleet-join and todo-fleet-sync, never the seed or publish", () => {
    expect(fleetPaths(fleetMember)).toEqual([...MEMBER, CLIENT].sort());
  });
  it("a server without the options: none of them, and no SEED_ or FLEET_ setting in any file", () => {
    for (const variant of Object.values(variants)) {
      const files = serverFiles(variant);
      expect(files.length).toBeGreaterThan(10);
      expect(fleetPaths(variant)).toEqual([]);
      for (const f of files) expect(f.content).not.toMatch(/seed\.mjs|fleet-join\.mjs|SEED_|FLEET_/);
    }
  });

  it("installs Node.js modules that load as the kit writes them, and commands that run them from where it puts them", () => {
    const root = join(dir, "modules");
    const files = [...renderedFiles(seedServer).values(), ...renderedFiles(fleetMember).values()];
    for (const f of files.filter((f) => f.path.endsWith(".mjs"))) {
      mkdirSync(join(root, "usr/local/lib/todo"), { recursive: true });
      writeFileSync(join(root, f.path), f.content);
    }
    // importing each one resolves its imports among the installed files (and fails on a syntax error)
    const r = run(process.execPath, [
      "--input-type=module",
      "-e",
      `for (const m of ["seed", "volc-openapi", "fleet-publish", "fleet-join", "offsite", "role-client"]) await import(${JSON.stringify(`${root}/usr/local/lib/todo/`)} + m + ".mjs");`,
    ]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const command = (name: string) => files.find((f) => f.path === `/usr/local/sbin/${name}`)!.content;
    expect(command("todo-seed")).toContain('exec /usr/local/bin/node /usr/local/lib/todo/seed.mjs "$@"');
    expect(command("todo-fleet-publish")).toContain(
      'exec /usr/local/bin/node /usr/local/lib/todo/fleet-publish.mjs "$@"',
    );
    expect(command("todo-fleet-join")).toContain('/usr/local/bin/node /usr/local/lib/todo/fleet-join.mjs "$@"');
  });
});

describe("a server of the last kit", () => {
  const manifest = "/var/lib/todo-setup/installed-files";
  const before = { ...publisher, fleet: undefined };

  it("gains the seed and publish when its deploy's host settings name them, and loses them when they stop", () => {
    const root = mkdtempSync(join(dir, "root-"));
    installServerFiles(serverFiles(before), root, manifest);
    const again = installServerFiles(serverFiles(optionsFromHostConf(hostConf(before))), root, manifest);
    expect(again).toEqual({ changed: [], removed: [], noteOnly: [] });
    const gained = installServerFiles(serverFiles(optionsFromHostConf(hostConf(seedServer))), root, manifest);
    expect(gained.changed.sort()).toEqual(["/etc/todo-host.conf", ...SEED, ...PUBLISH, CLIENT].sort());
    const lost = installServerFiles(serverFiles(optionsFromHostConf(hostConf(before))), root, manifest);
    expect(lost.removed.sort()).toEqual([...SEED, ...PUBLISH, CLIENT].sort());
    expect(lost.changed).toEqual(["/etc/todo-host.conf"]);
    expect(readFileSync(join(root, "/etc/todo-host.conf"), "utf8")).toBe(hostConf(before));
    for (const p of SEED) expect(existsSync(join(root, p))).toBe(false);
  });

  it("set up by the previous version's user data converges to no auto-scaling part", async () => {
    const { previousUserData } = await import("../../harness/rehearse/previous-user-data.js");
    const { decodeCloudConfigArchive } = await import("./helpers.js");
    const conf = decodeCloudConfigArchive(previousUserData("http://10.0.0.1:8080")).get("/etc/todo-host.conf")!;
    expect(fleetPaths(optionsFromHostConf(conf))).toEqual([]);
    expect(renderHostConf(parseCloudInitOptions(optionsFromHostConf(conf)))).not.toMatch(/SEED_|FLEET_/);
  });
});

const cloudInit = requireTool("cloud-init");

describe("a fleet member's user data", () => {
  const text = renderCloudInit(fleetMember);
  const { config, files } = decodeCloudConfig(text);

  it("carries the join and the module it imports as the kit installs them, and runs it after todo-bootstrap", () => {
    const kit = renderedFiles(fleetMember);
    expect([...files.keys()]).toEqual([
      "/etc/todo-host.conf",
      "/usr/local/lib/todo/common.sh",
      "/usr/local/sbin/todo-bootstrap",
      CLIENT,
      "/usr/local/lib/todo/fleet-join.mjs",
    ]);
    for (const f of files.values()) {
      expect(f.content, f.path).toBe(kit.get(f.path)!.content);
      expect(f.mode, f.path).toBe(kit.get(f.path)!.mode);
    }
    expect(config.write_files.slice(3).map((e: { encoding: string }) => e.encoding)).toEqual(["gz+b64", "gz+b64"]);
    expect(config.runcmd).toEqual([
      [
        "sh",
        "-c",
        "/usr/local/sbin/todo-bootstrap && exec flock /run/todo-fleet-join.lock /usr/local/bin/node /usr/local/lib/todo/fleet-join.mjs",
      ],
    ]);
    expect(text).not.toMatch(/\$\{|%\{/);
  });

  it("stays within its own budget, under ECS's 16 KB", () => {
    const sizes = {
      member: Buffer.byteLength(text),
      "member, largest options": Buffer.byteLength(
        renderCloudInit({
          ...fleetMember,
          databaseMode: "local",
          domain: "api.example.com",
          acmeEmail: "ops@example.com",
          offsiteBackup: publisher.offsiteBackup,
          nodeMirror: "https://mirrors.example.com/nodejs-release",
        }),
      ),
      "the same server without the fleet": Buffer.byteLength(renderCloudInit({ ...fleetMember, fleet: undefined })),
    };
    console.log(`user data bytes: ${JSON.stringify(sizes)}`);
    expect(sizes["member, largest options"]).toBeLessThanOrEqual(FLEET_MEMBER_USER_DATA_BUDGET_BYTES);
    expect(FLEET_MEMBER_USER_DATA_BUDGET_BYTES).toBeLessThan(USER_DATA_LIMIT_BYTES);
    expect(sizes["the same server without the fleet"]).toBeLessThanOrEqual(USER_DATA_BUDGET_BYTES);
    const crowded = { ...fleetMember, adminConsoleCidrs: Array.from({ length: 200 }, (_, i) => `10.0.${i}.0/24`) };
    expect(() => renderCloudInit(crowded)).toThrow(/over the project's 14336-byte user-data budget for a fleet member/);
  });

  it.skipIf(cloudInit.missing)("passes `cloud-init schema`", () => {
    const file = join(dir, "member.yaml");
    writeFileSync(file, text);
    const r = run("cloud-init", ["schema", "--config-file", file]);
    expect(r.stderr + r.stdout).toContain("Valid cloud-config");
  });

  it("joins only after todo-bootstrap succeeded, holding the lock todo-fleet-join takes", () => {
    const stubs = join(dir, "boot");
    mkdirSync(stubs, { recursive: true });
    const lock = join(stubs, "lock");
    const ran = join(stubs, "ran");
    writeFileSync(join(stubs, "bootstrap"), '#!/bin/sh\necho bootstrap >>"$RAN"\nexit "$BOOTSTRAP_STATUS"\n');
    // The join's stand-in: is the lock held while it runs?
    writeFileSync(
      join(stubs, "node"),
      `#!/bin/sh\nif flock --nonblock "${lock}" true; then echo "join $1 unlocked" >>"$RAN"; else echo "join $1 locked" >>"$RAN"; fi\n`,
    );
    for (const f of ["bootstrap", "node"]) chmodSync(join(stubs, f), 0o755);
    const command = (config.runcmd[0][2] as string)
      .replace("/usr/local/sbin/todo-bootstrap", join(stubs, "bootstrap"))
      .replace("/run/todo-fleet-join.lock", lock)
      .replace("/usr/local/bin/node", join(stubs, "node"));
    const boot = (status: number) => {
      rmSync(ran, { force: true });
      const r = run("sh", ["-c", command], {
        env: { PATH: process.env.PATH, RAN: ran, BOOTSTRAP_STATUS: String(status) },
      });
      return { status: r.status, ran: readFileSync(ran, "utf8") };
    };
    expect(boot(1)).toEqual({ status: 1, ran: "bootstrap\n" });
    expect(boot(0)).toEqual({ status: 0, ran: "bootstrap\njoin /usr/local/lib/todo/fleet-join.mjs locked\n" });
  });

  it("is the only variant that changes the user data: server 1's has no seed and runs todo-bootstrap alone", () => {
    expect(() => renderCloudInit(seedServer)).toThrow(/seed option belongs in the deploy step's host settings only/);
    const server1 = decodeCloudConfig(renderCloudInit(publisher));
    expect(server1.config.runcmd).toEqual([["/usr/local/sbin/todo-bootstrap"]]);
    expect([...server1.files.keys()]).toEqual([
      "/etc/todo-host.conf",
      "/usr/local/lib/todo/common.sh",
      "/usr/local/sbin/todo-bootstrap",
    ]);
  });
});

describe("todo-fleet-join's lock", () => {
  it("a run that finds the lock held does nothing and says so; otherwise it runs the join", async () => {
    const work = join(dir, "lock");
    mkdirSync(work, { recursive: true });
    const ran = join(work, "ran");
    writeFileSync(join(work, "node"), `#!/bin/sh\necho "$*" >>"${ran}"\n`);
    chmodSync(join(work, "node"), 0o755);
    const wrapper = join(work, "todo-fleet-join");
    const content = renderedFiles(fleetMember).get("/usr/local/sbin/todo-fleet-join")!.content;
    writeFileSync(wrapper, content.replace("/usr/local/bin/node", join(work, "node")));
    chmodSync(wrapper, 0o755);
    const env = { PATH: process.env.PATH, FLEET_LOCK: join(work, "lock") };
    expect(run(wrapper, [], { env })).toEqual({ status: 0, stdout: "", stderr: "" });
    expect(readFileSync(ran, "utf8")).toBe("/usr/local/lib/todo/fleet-join.mjs\n");
    const holder = spawn("flock", [join(work, "lock"), "sleep", "30"]);
    try {
      for (let i = 0; i < 100 && run("flock", ["--nonblock", join(work, "lock"), "true"]).status === 0; i++)
        await new Promise((r) => setTimeout(r, 20));
      expect(run(wrapper, [], { env })).toEqual({
        status: 0,
        stdout: "",
        stderr: `todo-fleet-join: another run holds ${join(work, "lock")}; this one does nothing\n`,
      });
      expect(readFileSync(ran, "utf8")).toBe("/usr/local/lib/todo/fleet-join.mjs\n");
    } finally {
      holder.kill();
    }
  });
});

describe("todo-setup's fleet step", () => {
  const work = mkdtempSync(join(dir, "setup-"));
  const units = join(work, "units");
  const calls = join(work, "systemctl.log");
  mkdirSync(join(units, "timers.target.wants"), { recursive: true });
  // systemctl's stand-in records each call; `is-active` answers from ACTIVE (the unit names active).
  mkdirSync(join(work, "bin"));
  writeFileSync(
    join(work, "bin/systemctl"),
    `#!/bin/sh\necho "$*" >>"${calls}"\nif [ "$1" = is-active ]; then case " $ACTIVE " in *" $3 "*) exit 0 ;; esac; exit 3; fi\nexit 0\n`,
  );
  chmodSync(join(work, "bin/systemctl"), 0o755);
  const setup = join(work, "todo-setup");
  writeFileSync(setup, renderedFiles(seedServer).get("/usr/local/sbin/todo-setup")!.content);
  writeFileSync(join(work, "host.conf"), hostConf(seedServer));
  const fleetStep = (active = "") => {
    rmSync(calls, { force: true });
    const r = run("bash", [setup, "fleet"], {
      env: {
        ...SHELL_LIBRARY_ENV,
        PATH: `${join(work, "bin")}:${process.env.PATH}`,
        TODO_HOST_CONF: join(work, "host.conf"),
        TODO_UNIT_DIR: units,
        ACTIVE: active,
      },
    });
    expect(r.status, r.stderr).toBe(0);
    return { calls: existsSync(calls) ? readFileSync(calls, "utf8").trim().split("\n") : [], stderr: r.stderr };
  };

  it("enables and starts the timers whose units the kit installed", () => {
    writeFileSync(join(units, "todo-seed.timer"), "");
    expect(fleetStep().calls).toEqual([
      "enable --now --quiet todo-seed.timer",
      "is-active --quiet todo-fleet-sync.timer",
    ]);
  });

  it("stops a timer whose unit the kit removed and drops its enablement, so a server that loses the option loses the timer", () => {
    rmSync(join(units, "todo-seed.timer"));
    symlinkSync(join(units, "todo-seed.timer"), join(units, "timers.target.wants/todo-seed.timer"));
    const r = fleetStep("todo-seed.timer");
    expect(r.calls).toEqual(["stop todo-seed.timer", "daemon-reload", "is-active --quiet todo-fleet-sync.timer"]);
    expect(r.stderr).toContain("todo-seed.timer stopped and disabled (no longer configured)");
    expect(existsSync(join(units, "timers.target.wants/todo-seed.timer"))).toBe(false);
    // a timer loaded but not enabled (started by hand) is stopped too; then nothing is left to do
    expect(fleetStep("todo-fleet-sync.timer").calls).toEqual([
      "is-active --quiet todo-seed.timer",
      "is-active --quiet todo-fleet-sync.timer",
      "stop todo-fleet-sync.timer",
      "daemon-reload",
    ]);
    expect(fleetStep().calls).toEqual(["is-active --quiet todo-seed.timer", "is-active --quiet todo-fleet-sync.timer"]);
  });
});

const systemdAnalyze = requireTool("systemd-analyze");

describe.skipIf(systemdAnalyze.missing)("the auto-scaling units", () => {
  const units = join(dir, "units-verify");
  mkdirSync(join(units, "sbin"), { recursive: true });
  const files = new Map([...renderedFiles(seedServer), ...renderedFiles(fleetMember)]);
  const unitFile = (name: string) => {
    const content = files.get(`/etc/systemd/system/${name}`)!.content.replaceAll("/usr/local/sbin/", `${units}/sbin/`);
    writeFileSync(join(units, name), content);
    return join(units, name);
  };
  for (const name of ["todo-seed", "todo-fleet-join"]) {
    writeFileSync(join(units, "sbin", name), files.get(`/usr/local/sbin/${name}`)!.content);
    chmodSync(join(units, "sbin", name), 0o755);
  }

  it("pass systemd-analyze verify", () => {
    const paths = ["todo-seed.service", "todo-seed.timer", "todo-fleet-sync.service", "todo-fleet-sync.timer"].map(
      unitFile,
    );
    const r = run("systemd-analyze", ["verify", "--man=no", ...paths]);
    // The OnFailure= handler exists only on a server.
    expect(r.stderr.split("\n").filter((l) => l && !/todo-api-alert@/.test(l))).toEqual([]);
    expect(r.status).toBe(0);
  });

  it("run every 30 s (the seed) and every minute with up to a minute's random delay (the sync), handing failures to the alert unit", () => {
    expect(files.get("/etc/systemd/system/todo-seed.timer")!.content).toMatch(/^OnUnitActiveSec=30s$/m);
    const sync = files.get("/etc/systemd/system/todo-fleet-sync.timer")!.content;
    expect(sync).toMatch(/^OnUnitActiveSec=60s$/m);
    expect(sync).toMatch(/^RandomizedDelaySec=60$/m);
    for (const name of ["todo-seed.service", "todo-fleet-sync.service"])
      expect(files.get(`/etc/systemd/system/${name}`)!.content).toMatch(/^OnFailure=todo-api-alert@%n\.service$/m);
  });

  it("sandbox the seed like the kit's other network units", () => {
    const text = run("systemd-analyze", [
      "security",
      "--offline=true",
      "--no-pager",
      unitFile("todo-seed.service"),
    ]).stdout;
    const overall = Number(/Overall exposure level for \S+: ([\d.]+)/.exec(text)?.[1]);
    console.log(`systemd-analyze security todo-seed.service: ${overall}`);
    expect(overall).toBeLessThanOrEqual(1.5);
  });
});
