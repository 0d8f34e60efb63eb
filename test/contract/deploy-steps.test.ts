import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import {
  installKitCommands,
  pointFleetCommands,
  publishFleetCommands,
  switchReleaseCommands,
  TARBALL_LEFTOVER_MINUTES,
} from "../../contract/deploy-steps.js";
import { run } from "../cloud-init/helpers.js";

/**
 * The server-side deploy steps (the stack's remote-exec scripts, `npm run deploy`, the rehearsal)
 * run by a real `sh`. Their privileged commands go through the `sudo` prefix, here a stand-in
 * that runs `rm`, and `find` in the test's directory, for real and records (and, when told, fails) everything else, so the
 * tarball's fate is observed on a real file system without touching this machine's /var/lib.
 */
const dir = mkdtempSync(join(tmpdir(), "deploy-steps-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const sudo = join(dir, "sudo");
const log = join(dir, "sudo.log");
writeFileSync(
  sudo,
  `#!/bin/sh
echo "$*" >>"${log}"
case "$1 $2" in "rm "* | "find ${dir}"*) exec "$@" ;; esac
case "$*" in *"\${FAIL_ON:-never-matches}"*) exit 9 ;; esac
exit 0
`,
);
chmodSync(sudo, 0o755);

const hash = "0123456789ab";
const tarball = join(dir, `todo-api-${hash}.tar.gz`);
const leftover = join(dir, "todo-api-fedcba987654.tar.gz");
const recent = join(dir, "todo-api-aaaaaaaaaaaa.tar.gz");
const unrelated = join(dir, "something-else.tar.gz");
const hoursAgo = (h: number) => Date.now() / 1000 - h * 3600;

beforeEach(() => {
  rmSync(log, { force: true });
  for (const f of [tarball, leftover, recent, unrelated]) writeFileSync(f, "x");
  utimesSync(leftover, hoursAgo(2), hoursAgo(2));
  utimesSync(unrelated, hoursAgo(2), hoursAgo(2));
});

const runSteps = (lines: string[], failOn?: string) =>
  run("sh", ["-c", ["set -eu", ...lines].join("\n")], {
    env: { PATH: process.env.PATH, ...(failOn ? { FAIL_ON: failOn } : {}) },
  });

describe("the uploaded release tarball", () => {
  it("stays after a successful kit install (the switch step needs it); leftovers older than an hour go", () => {
    const r = runSteps(installKitCommands(tarball, hash, sudo));
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(existsSync(tarball)).toBe(true);
    expect(existsSync(leftover)).toBe(false);
    // a younger one may be another deploy's in progress; other files are not ours
    expect(existsSync(recent)).toBe(true);
    expect(existsSync(unrelated)).toBe(true);
    expect(TARBALL_LEFTOVER_MINUTES).toBe(60);
  });

  it("is removed when the kit install fails", () => {
    const r = runSteps(installKitCommands(tarball, hash, sudo), "server/install");
    expect(r.status).toBe(9);
    expect(existsSync(tarball)).toBe(false);
    expect(readFileSync(log, "utf8")).toContain(`rm -f -- ${tarball}`);
  });

  it("is removed when todo-release deploy fails, and after it succeeds", () => {
    const failed = runSteps(switchReleaseCommands(tarball, sudo), "todo-release deploy");
    expect(failed.status).toBe(9);
    expect(existsSync(tarball)).toBe(false);
    writeFileSync(tarball, "x");
    const ok = runSteps(switchReleaseCommands(tarball, sudo));
    expect(ok.status).toBe(0);
    expect(existsSync(tarball)).toBe(false);
  });
});

describe("the fleet's publish and point steps", () => {
  it("run todo-fleet-publish through the sudo prefix, with nothing Terraform would interpolate", () => {
    for (const lines of [publishFleetCommands(tarball, "$SUDO"), pointFleetCommands("$SUDO")]) {
      expect(lines.join("\n")).not.toMatch(/\$\{|%\{/);
      for (const line of lines) expect(line.startsWith("$SUDO ")).toBe(true);
    }
    expect(publishFleetCommands(tarball, "")).toEqual([` /usr/local/sbin/todo-fleet-publish ${tarball}`]);
  });

  it("leave the tarball for the switch step, and fail the script when publishing fails", () => {
    const published = runSteps([...installKitCommands(tarball, hash, sudo), ...publishFleetCommands(tarball, sudo)]);
    expect(published.status).toBe(0);
    expect(existsSync(tarball)).toBe(true);
    expect(readFileSync(log, "utf8")).toContain(`/usr/local/sbin/todo-fleet-publish ${tarball}\n`);
    const failed = runSteps(
      [...installKitCommands(tarball, hash, sudo), ...publishFleetCommands(tarball, sudo)],
      "todo-fleet-publish",
    );
    expect(failed.status).toBe(9);
    // the failure trap of the kit step removes the tarball, as for any failed step
    expect(existsSync(tarball)).toBe(false);
    const pointed = runSteps(pointFleetCommands(sudo));
    expect(pointed.status).toBe(0);
    expect(readFileSync(log, "utf8")).toContain("/usr/local/sbin/todo-fleet-publish --point\n");
  });
});
