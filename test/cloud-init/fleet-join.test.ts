/**
 * todo-fleet-join (cloud-init/lib/fleet-join.mjs): a scaled-out server pulls the current deploy
 * from the stand-in's TOS (its S3 data plane, which verifies every SigV4 signature with the role's
 * secret and session token) with the credentials the ECS metadata stand-in hands out (token mode
 * enforced), checks what it got, and hands the contract's deploy steps to its runner. The steps
 * are recorded here, not run (they install into /var/lib and /opt as root): that they are the
 * steps of contract/deploy-steps.ts is checked text for text.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { installKitCommands, switchReleaseCommands } from "../../contract/deploy-steps.js";
import {
  FLEET_CURRENT_KEY,
  type FleetPointer,
  fleetEnvKey,
  fleetTarballKey,
  parseFleetPointer,
} from "../../contract/fleet.js";
import {
  type Credentials,
  type MetadataStandIn,
  startMetadataStandIn,
} from "../../local-cloud/services/ecs/metadata.js";
import { type S3StandIn, startS3StandIn } from "../../local-cloud/services/tos/s3-data-plane.js";
import { makeRelease } from "./release-stand-in.js";

type Step = { command: string; args: string[]; input?: string };
interface FleetJoin {
  FLEET_CURRENT_KEY: string;
  settings(env: NodeJS.ProcessEnv): Record<string, unknown>;
  parsePointer(text: string): FleetPointer & { deploy: string; tarballKey: string; envKey: string };
  joinFleet(
    s: Record<string, unknown>,
    io: { exec?: (command: string, args: string[], input?: string) => void; say?: (line: string) => void },
  ): Promise<string>;
}
const script = fileURLToPath(new URL("../../cloud-init/lib/fleet-join.mjs", import.meta.url));
const kit = (await import(script)) as FleetJoin;

const BUCKET = "todo-api-prod-private-1a2b3c4d";
const REGION = "cn-beijing";
const ROLE = "todo-api-prod-files";
const creds: Credentials = {
  AccessKeyId: "AKTPFLEETKEY",
  SecretAccessKey: "fleet-secret-ZmxlZXQ",
  SessionToken: "fleet-session-token-dG9r",
};
const SETTINGS = { JWT_SECRET: "jwt-secret-value-9f8e7d", DATABASE_URL: "postgres://app:pw-5c4b3a@10.0.0.5/todo" };
const dir = mkdtempSync(join(tmpdir(), "todo-fleet-join-"));
/** The server's /tmp, where the tarball waits for the steps (makeRelease writes its own into dir). */
const serverTmp = join(dir, "tmp");
mkdirSync(serverTmp);
let s3: S3StandIn;
let metadata: MetadataStandIn;
let runs = 0;

beforeAll(async () => {
  s3 = await startS3StandIn({ bucket: BUCKET, region: REGION, creds: () => creds });
  metadata = await startMetadataStandIn(ROLE, () => creds, { tokens: "enforced" });
});
afterAll(async () => {
  await Promise.all([s3.close(), metadata.close()]);
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  for (const key of [...s3.objects.keys()]) s3.objects.delete(key);
  s3.log.length = 0;
  metadata.failNext(0);
});

const sha256 = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");
/** What the publish step would put in the bucket: the tarball, the env object, then the pointer. */
function publish(settings: Record<string, string> = SETTINGS) {
  const release = makeRelease(dir, `v${++runs}`);
  const tarball = readFileSync(release.path);
  const env = Buffer.from(JSON.stringify(settings));
  const pointer: FleetPointer = { release: release.hash, tarballSha256: sha256(tarball), envSha256: sha256(env) };
  s3.objects.set(fleetTarballKey(pointer), tarball);
  s3.objects.set(fleetEnvKey(pointer), env);
  s3.objects.set(FLEET_CURRENT_KEY, Buffer.from(JSON.stringify(pointer)));
  return { pointer, tarball };
}
const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  TODO_HOST_CONF: join(dir, "no-such-host.conf"),
  FLEET_BUCKET: BUCKET,
  FLEET_REGION: REGION,
  FLEET_ENDPOINT: s3.url,
  FLEET_ROLE: ROLE,
  FLEET_PATH_STYLE: "1",
  TODO_METADATA_URL: metadata.url,
  FLEET_RETRY_MS: "20",
  FLEET_ROLE_WAIT_MS: "2000",
  FLEET_STATE: join(dir, `state-${++runs}`),
  FLEET_TARBALL_DIR: serverTmp,
  ...extra,
});
/** Joins with a runner that records each step and what the tarball was while it ran. */
async function joinRecorded(e = env(), fail?: (step: Step) => boolean) {
  const steps: (Step & { tarball?: { sha256: string; mode: number } })[] = [];
  const said: string[] = [];
  const exec = (command: string, args: string[], input?: string) => {
    const file = /tar -xzf (\S+)/.exec(args[1] ?? "")?.[1];
    const tarball =
      file && existsSync(file) ? { sha256: sha256(readFileSync(file)), mode: statSync(file).mode & 0o777 } : undefined;
    steps.push({ command, args, ...(input === undefined ? {} : { input }), ...(tarball ? { tarball } : {}) });
    if (fail?.({ command, args, input })) throw new Error(`${command} exited with 1`);
  };
  const deploy = await kit.joinFleet(kit.settings(e), { exec, say: (l) => said.push(l) });
  return { deploy, steps, said, state: e.FLEET_STATE! };
}

describe("todo-fleet-join", () => {
  it("pulls the current deploy with the role's credentials and runs the contract's deploy steps, settings on stdin", async () => {
    const { pointer, tarball } = publish();
    const { deploy, steps, said, state } = await joinRecorded();
    const file = join(serverTmp, `todo-api-${pointer.release}.tar.gz`);
    expect(deploy).toBe(`${pointer.release}-${pointer.envSha256.slice(0, 12)}`);
    expect(steps.map(({ tarball: _, ...s }) => s)).toEqual([
      { command: "sh", args: ["-ec", installKitCommands(file, pointer.release, "").join("\n")] },
      { command: "/usr/local/sbin/todo-release", args: ["set-env", "JWT_SECRET"], input: SETTINGS.JWT_SECRET },
      { command: "/usr/local/sbin/todo-release", args: ["set-env", "DATABASE_URL"], input: SETTINGS.DATABASE_URL },
      { command: "sh", args: ["-ec", switchReleaseCommands(file, "", "todo-api").join("\n")] },
    ]);
    expect(steps[0]!.tarball).toEqual({ sha256: sha256(tarball), mode: 0o600 });
    expect(existsSync(file)).toBe(false);
    expect(readFileSync(state, "utf8")).toBe(`${deploy}\n`);
    expect(s3.log.map((l) => [l.method, l.path.replace(/\?.*/, ""), l.status])).toEqual([
      ["GET", `/${BUCKET}/fleet/current`, 200],
      expect.arrayContaining(["GET", 200]),
      expect.arrayContaining(["GET", 200]),
    ]);
    expect(said.join("\n")).toContain(`deploy ${deploy} (release ${pointer.release}, 2 settings) installed`);
    for (const secret of [...Object.values(SETTINGS), creds.SecretAccessKey, creds.SessionToken])
      expect(said.join("\n")).not.toContain(secret);
  });

  it("does nothing when it already runs the current deploy, and deploys again when the settings change", async () => {
    publish();
    const e = env();
    const first = await joinRecorded(e);
    s3.log.length = 0;
    const again = await joinRecorded(e);
    expect(again.deploy).toBe(first.deploy);
    expect(again.steps).toEqual([]);
    expect(again.said).toEqual([`already runs deploy ${first.deploy}`]);
    expect(s3.log.map((l) => l.path.replace(/\?.*/, ""))).toEqual([`/${BUCKET}/fleet/current`]);
    // A settings-only change is a new deploy of the same release.
    const { pointer } = publish({ ...SETTINGS, JWT_SECRET: "rotated-secret-1a2b" });
    const changed = await joinRecorded(e);
    expect(changed.deploy).not.toBe(first.deploy);
    expect(changed.steps.find((s) => s.args[1] === "JWT_SECRET")?.input).toBe("rotated-secret-1a2b");
    expect(readFileSync(e.FLEET_STATE!, "utf8")).toBe(`${pointer.release}-${pointer.envSha256.slice(0, 12)}\n`);
  });

  it("waits for the role's credentials, bounded", async () => {
    publish();
    metadata.failNext(3);
    const waited = await joinRecorded();
    expect(waited.said[0]).toBe(
      `waiting for the credentials of role ${ROLE} (metadata service answered 500 for a token)`,
    );
    expect(waited.steps).toHaveLength(4);
    const e = env({ FLEET_ROLE: "todo-api-prod-other", FLEET_ROLE_WAIT_MS: "200" });
    await expect(joinRecorded(e)).rejects.toThrow(
      /^no credentials for role todo-api-prod-other within 200 ms \(metadata service answered 404 for role todo-api-prod-other\)$/,
    );
    expect(existsSync(e.FLEET_STATE!)).toBe(false);
  });

  it("refuses a tarball or an env object that does not match the pointer, before any step", async () => {
    const { pointer } = publish();
    s3.objects.set(fleetTarballKey(pointer), Buffer.from("not the release"));
    const e = env();
    await expect(joinRecorded(e)).rejects.toThrow(
      `${fleetTarballKey(pointer)} does not match fleet/current's tarballSha256`,
    );
    publish();
    const p2 = parseFleetPointer(s3.objects.get(FLEET_CURRENT_KEY)!.toString());
    s3.objects.set(fleetEnvKey(p2), Buffer.from(JSON.stringify({ JWT_SECRET: "planted" })));
    await expect(joinRecorded(e)).rejects.toThrow(`${fleetEnvKey(p2)} does not match fleet/current's envSha256`);
    expect(existsSync(e.FLEET_STATE!)).toBe(false);
    expect(existsSync(join(serverTmp, `todo-api-${p2.release}.tar.gz`))).toBe(false);
  });

  it("stops at a failed step: the deploy is not recorded and the tarball is removed", async () => {
    const { pointer } = publish();
    const e = env();
    await expect(joinRecorded(e, (s) => s.args[1] === "DATABASE_URL")).rejects.toThrow("exited with 1");
    expect(existsSync(e.FLEET_STATE!)).toBe(false);
    expect(existsSync(join(serverTmp, `todo-api-${pointer.release}.tar.gz`))).toBe(false);
  });

  it("reads fleet/current as the contract defines it", () => {
    const p = { release: "0123456789ab", tarballSha256: "a".repeat(64), envSha256: "b".repeat(64) };
    expect(kit.FLEET_CURRENT_KEY).toBe(FLEET_CURRENT_KEY);
    expect(kit.parsePointer(JSON.stringify(p))).toEqual({
      ...parseFleetPointer(JSON.stringify(p)),
      deploy: `0123456789ab-${"b".repeat(12)}`,
      tarballKey: fleetTarballKey(p),
      envKey: fleetEnvKey(p),
    });
    for (const bad of ["{", JSON.stringify({ ...p, release: "v1" }), JSON.stringify({ ...p, envSha256: "b" })]) {
      const message = (f: () => unknown) => {
        try {
          f();
        } catch (e) {
          return (e as Error).message;
        }
      };
      expect(message(() => kit.parsePointer(bad))).toBeDefined();
      expect(message(() => kit.parsePointer(bad))).toBe(message(() => parseFleetPointer(bad)));
    }
  });

  it("as a program: exits 1 with the reason when nothing is published", async () => {
    const r = await new Promise<{ status: number; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [script], { env: { PATH: process.env.PATH, ...env() } });
      let stderr = "";
      child.stderr.on("data", (d) => (stderr += d));
      child.on("error", reject);
      child.on("close", (status) => resolve({ status: status ?? -1, stderr }));
    });
    expect(r).toEqual({ status: 1, stderr: "todo-fleet-join: error: GET fleet/current: HTTP 404 NoSuchKey\n" });
  });
});

// The host settings file names the fleet like the other kit commands (written here as cloud-init writes it).
it("todo-fleet-join takes its settings from the host settings file, the OFFSITE_ bucket and FILES_ROLE by default", () => {
  const conf = join(dir, "todo-host.conf");
  writeFileSync(
    conf,
    `OFFSITE_BUCKET='${BUCKET}'\nOFFSITE_REGION='${REGION}'\nOFFSITE_ENDPOINT='https://tos-s3-cn-beijing.volces.com/'\nFILES_ROLE='${ROLE}'\n`,
  );
  expect(kit.settings({ TODO_HOST_CONF: conf })).toMatchObject({
    bucket: BUCKET,
    region: REGION,
    endpoint: "https://tos-s3-cn-beijing.volces.com",
    role: ROLE,
    app: "todo-api",
    state: "/var/lib/todo-setup/fleet-deploy",
  });
  expect(() => kit.settings({ TODO_HOST_CONF: join(dir, "none") })).toThrow("FLEET_BUCKET missing");
});
