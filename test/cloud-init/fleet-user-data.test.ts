/**
 * What a server the scaling group starts boots with (cloud-init/fleet-kit.ts): its user data
 * carries the join and starts it after todo-bootstrap, outside cloud-init, under the lock the
 * timer's todo-fleet-join takes; its size against the budgets.
 */
import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  FLEET_MEMBER_USER_DATA_BUDGET_BYTES,
  renderCloudInit,
  USER_DATA_BUDGET_BYTES,
  USER_DATA_LIMIT_BYTES,
} from "../../cloud-init/render.js";
import { decodeCloudConfig, renderedFiles, run } from "./helpers.js";
import { fleetMember, publisher, seedServer } from "./fleet-variants.js";
import { requireTool } from "../support/tools.js";

const dir = mkdtempSync(join(tmpdir(), "todo-fleet-user-data-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const CLIENT = "/usr/local/lib/todo/role-client.mjs";

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
        "/usr/local/sbin/todo-bootstrap && systemd-run --unit=todo-fleet-join-boot --no-block /usr/bin/flock /run/todo-fleet-join.lock /usr/local/bin/node /usr/local/lib/todo/fleet-join.mjs",
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

  it("starts the join only after todo-bootstrap succeeded, as a unit outside cloud-init, holding the lock todo-fleet-join takes", () => {
    const stubs = join(dir, "boot");
    mkdirSync(stubs, { recursive: true });
    const lock = join(stubs, "lock");
    const ran = join(stubs, "ran");
    writeFileSync(join(stubs, "bootstrap"), '#!/bin/sh\necho bootstrap >>"$RAN"\nexit "$BOOTSTRAP_STATUS"\n');
    // systemd-run's stand-in records the unit it was asked for and returns (--no-block).
    writeFileSync(join(stubs, "systemd-run"), '#!/bin/sh\necho "systemd-run $*" >>"$RAN"\n');
    // The join's stand-in: is the lock held while it runs?
    writeFileSync(
      join(stubs, "node"),
      `#!/bin/sh\nif flock --nonblock "${lock}" true; then echo "join $1 unlocked" >>"$RAN"; else echo "join $1 locked" >>"$RAN"; fi\n`,
    );
    for (const f of ["bootstrap", "systemd-run", "node"]) chmodSync(join(stubs, f), 0o755);
    const command = (config.runcmd[0][2] as string)
      .replace("/usr/local/sbin/todo-bootstrap", join(stubs, "bootstrap"))
      .replace("/run/todo-fleet-join.lock", lock)
      .replace("/usr/local/bin/node", join(stubs, "node"));
    const env = { PATH: `${stubs}:${process.env.PATH}`, RAN: ran };
    const boot = (status: number) => {
      rmSync(ran, { force: true });
      const r = run("sh", ["-c", command], { env: { ...env, BOOTSTRAP_STATUS: String(status) } });
      return { status: r.status, ran: readFileSync(ran, "utf8") };
    };
    expect(boot(1)).toEqual({ status: 1, ran: "bootstrap\n" });
    const unit = `/usr/bin/flock ${lock} ${join(stubs, "node")} /usr/local/lib/todo/fleet-join.mjs`;
    expect(boot(0)).toEqual({
      status: 0,
      ran: `bootstrap\nsystemd-run --unit=todo-fleet-join-boot --no-block ${unit}\n`,
    });
    // what the unit runs
    rmSync(ran);
    expect(run("sh", ["-c", unit], { env }).status).toBe(0);
    expect(readFileSync(ran, "utf8")).toBe("join /usr/local/lib/todo/fleet-join.mjs locked\n");
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
