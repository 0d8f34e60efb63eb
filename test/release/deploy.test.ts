import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { deployRelease, remoteTarballPath, shellQuote } from "../../scripts/deploy.js";
import { buildRelease, type Release } from "../../release/build-release.js";
import { run } from "../cloud-init/helpers.js";

/**
 * The SSH side of a deploy, with stand-in `ssh` and `scp` that record what they were asked to do
 * (argv and stdin) instead of connecting anywhere. The release command itself is tested in
 * test/cloud-init/release-command.test.ts; the two together over real SSH run in the rehearsal.
 */
const dir = mkdtempSync(join(tmpdir(), "deploy-test-"));
const calls = join(dir, "calls");
const remoteRoot = join(dir, "remote");
let release: Release;
const SECRET = "postgres://todo:very-secret-pw@10.0.0.9:5432/todo";

const STANDIN_SSH = `#!/usr/bin/env bash
# records argv (one per line) and stdin; fails the command named in FAIL_ON
n=$(ls "${calls}" | wc -l)
f="${calls}/$(printf %03d "$n")-ssh"
printf '%s\\n' "$@" >"$f.argv"
if [ ! -t 0 ]; then cat >"$f.stdin"; fi
cmd=\${!#}
if [ -n "\${FAIL_ON:-}" ] && [[ $cmd == *"$FAIL_ON"* ]]; then exit 7; fi
exit 0
`;
const STANDIN_SCP = `#!/usr/bin/env bash
n=$(ls "${calls}" | wc -l)
printf '%s\\n' "$@" >"${calls}/$(printf %03d "$n")-scp.argv"
src=\${@: -2:1}
dest=\${@: -1}
mkdir -p "${remoteRoot}/tmp"
cp "$src" "${remoteRoot}\${dest#*:}"
`;

function recorded() {
  return readdirSync(calls)
    .filter((f) => f.endsWith(".argv"))
    .sort()
    .map((f) => {
      const argv = readFileSync(join(calls, f), "utf8").trimEnd().split("\n");
      const stdinFile = join(calls, f.replace(".argv", ".stdin"));
      return {
        tool: f.includes("-ssh") ? "ssh" : "scp",
        argv,
        command: argv.at(-1)!,
        stdin: existsSync(stdinFile) ? readFileSync(stdinFile, "utf8") : undefined,
      };
    });
}

beforeAll(async () => {
  for (const [name, text] of [
    ["ssh", STANDIN_SSH],
    ["scp", STANDIN_SCP],
  ] as const) {
    writeFileSync(join(dir, name), text);
    chmodSync(join(dir, name), 0o755);
  }
  process.env.TODO_SSH = join(dir, "ssh");
  process.env.TODO_SCP = join(dir, "scp");
  const bundle = join(dir, "bundle");
  mkdirSync(bundle);
  writeFileSync(join(bundle, "server.mjs"), "");
  writeFileSync(join(bundle, "migrate.mjs"), "");
  release = await buildRelease({ bundleDir: bundle, outDir: join(dir, "out"), log: () => {} });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(() => {
  rmSync(calls, { recursive: true, force: true });
  mkdirSync(calls);
  delete process.env.FAIL_ON;
});

describe("deployRelease over SSH", () => {
  it("waits for SSH, copies the tarball, runs its server kit, sets env from stdin, then runs todo-release deploy", async () => {
    process.env.DATABASE_URL_FOR_TEST = SECRET;
    const result = await deployRelease({
      host: "203.0.113.10",
      tarball: release.path,
      env: ["DATABASE_URL_FOR_TEST"],
      identityFile: "/keys/id_ed25519",
      waitSeconds: 0,
    });
    expect(result.hash).toBe(release.hash);
    const c = recorded();
    expect(c.map((x) => x.tool)).toEqual(["ssh", "scp", "ssh", "ssh", "ssh"]);
    expect(c[0]!.command).toBe("true");
    expect(c[1]!.command).toBe(`root@203.0.113.10:${remoteTarballPath(release.hash)}`);
    // the release's server kit converges the host first (the same steps as the stack's deploy step)
    expect(c[2]!.command).toMatch(/^sh -c '/);
    expect(c[2]!.command).toContain(
      `tar -xzf /tmp/todo-api-${release.hash}.tar.gz -C /var/lib/todo-setup/kit/${release.hash}.new --no-same-owner server`,
    );
    expect(c[2]!.command).toContain(`/var/lib/todo-setup/kit/${release.hash}/server/install`);
    expect(c[3]!.command).toBe("/usr/local/sbin/todo-release set-env DATABASE_URL_FOR_TEST");
    expect(c[3]!.stdin).toBe(SECRET);
    expect(c[4]!.command).toContain(`/usr/local/sbin/todo-release deploy /tmp/todo-api-${release.hash}.tar.gz`);
    // a deploy whose release was already current restarts the instances so new settings take effect
    expect(c[4]!.command).toContain("/usr/local/sbin/todo-release restart");
    for (const call of c) {
      expect(call.argv.join(" ")).not.toContain("very-secret-pw");
      expect(call.argv).toEqual(
        expect.arrayContaining(["-i", "/keys/id_ed25519", "BatchMode=yes", "StrictHostKeyChecking=accept-new"]),
      );
    }
    expect(c[0]!.argv).toContain("root@203.0.113.10");
    expect(readFileSync(join(remoteRoot, remoteTarballPath(release.hash))).equals(readFileSync(release.path))).toBe(
      true,
    );
  });

  it("uses sudo for a non-root user and the given port", async () => {
    await deployRelease({ host: "example.net", user: "ubuntu", port: 2222, tarball: release.path, waitSeconds: 0 });
    const c = recorded();
    expect(c.at(-1)!.command).toMatch(/^sudo -n sh -c '/);
    expect(c.at(-1)!.command).toContain(`/usr/local/sbin/todo-release deploy /tmp/todo-api-${release.hash}.tar.gz`);
    expect(c.at(-1)!.argv).toEqual(expect.arrayContaining(["-p", "2222", "ubuntu@example.net"]));
    expect(c.find((x) => x.tool === "scp")!.argv).toEqual(expect.arrayContaining(["-P", "2222"]));
  });

  it("fails with the server's exit status when the release command fails", async () => {
    process.env.FAIL_ON = "todo-release deploy";
    await expect(deployRelease({ host: "203.0.113.10", tarball: release.path, waitSeconds: 0 })).rejects.toThrow(
      /todo-release deploy failed on root@203.0.113.10 \(exit 7\)/,
    );
  });

  it("removes the uploaded tarball when a step between the server's scripts fails (set-env)", async () => {
    process.env.FAIL_ON = "set-env";
    process.env.SOME_SETTING_FOR_TEST = "x";
    await expect(
      deployRelease({ host: "203.0.113.10", tarball: release.path, env: ["SOME_SETTING_FOR_TEST"], waitSeconds: 0 }),
    ).rejects.toThrow(/setting SOME_SETTING_FOR_TEST/);
    const c = recorded();
    expect(c.at(-1)!.command).toBe(`rm -f -- ${remoteTarballPath(release.hash)}`);
    expect(c.some((x) => x.command.includes("todo-release deploy"))).toBe(false);
  });

  it("stops before switching when the server kit fails", async () => {
    process.env.FAIL_ON = "server/install";
    await expect(deployRelease({ host: "203.0.113.10", tarball: release.path, waitSeconds: 0 })).rejects.toThrow(
      /server kit \(server\/install\) failed on root@203.0.113.10 \(exit 7\)/,
    );
    expect(recorded().some((x) => x.command.includes("todo-release deploy"))).toBe(false);
  });

  it("refuses bad input before connecting", async () => {
    delete process.env.NOT_SET_ANYWHERE;
    await expect(deployRelease({ host: "h", tarball: release.path, env: ["NOT_SET_ANYWHERE"] })).rejects.toThrow(
      /not set/,
    );
    await expect(deployRelease({ host: "h", tarball: join(dir, "other.tar.gz") })).rejects.toThrow(/todo-api-<hash>/);
    await expect(deployRelease({ host: "", tarball: release.path })).rejects.toThrow(/host is required/);
    await expect(deployRelease({ host: "h", user: "Bad User", tarball: release.path })).rejects.toThrow(/user/);
    expect(recorded()).toEqual([]);
  });

  it("quotes words for the remote shell", () => {
    expect(shellQuote("/tmp/a.tar.gz")).toBe("/tmp/a.tar.gz");
    expect(shellQuote("it's $(x)")).toBe(`'it'\\''s $(x)'`);
    expect(run("sh", ["-c", `printf %s ${shellQuote("it's $(x)")}`]).stdout).toBe("it's $(x)");
  });
});
