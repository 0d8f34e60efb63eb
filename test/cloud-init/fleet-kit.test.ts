/**
 * The auto-scaling parts of the kit (cloud-init/fleet-kit.ts): the `seed` and `fleet` options, the
 * host settings they write, which server installs which command and unit, and what happens to a
 * server of the last kit that gains or loses them.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { installServerFiles } from "../../cloud-init/kit.js";
import { optionsFromHostConf } from "../../cloud-init/host-conf.js";
import type { CloudInitOptions } from "../../cloud-init/options.js";
import { serverFiles } from "../../cloud-init/render.js";
import { parseCloudInitOptions } from "../../cloud-init/options.js";
import { renderHostConf } from "../../cloud-init/host-conf.js";
import { renderedFiles, run, variants } from "./helpers.js";
import { fleetMember, publisher, seedServer } from "./fleet-variants.js";

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
