/**
 * todo-fleet-publish (cloud-init/lib/fleet-publish.mjs), as the kit installs it on the first fixed
 * server, against the stand-in's S3 data plane (which verifies every SigV4 signature with the
 * role's secret and session token) and the ECS metadata stand-in (token mode enforced); then the
 * round trip: a fleet member's join, as its user data carries it, reads what publish wrote.
 */
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { installKitCommands, switchReleaseCommands } from "../../contract/deploy-steps.js";
import { FLEET_CURRENT_KEY, fleetEnvKey, fleetTarballKey, parseFleetPointer } from "../../contract/fleet.js";
import { renderCloudInit, serverFiles } from "../../cloud-init/render.js";
import { listen } from "../../local-cloud/listen.js";
import {
  type Credentials,
  type MetadataStandIn,
  startMetadataStandIn,
} from "../../local-cloud/services/ecs/metadata.js";
import { type S3StandIn, startS3StandIn } from "../../local-cloud/services/tos/s3-data-plane.js";
import { decodeCloudConfig, runAsync } from "./helpers.js";
import { makeRelease } from "./release-stand-in.js";
import { fleetMember, publisher } from "./fleet-variants.js";

const BUCKET = publisher.fleet!.bucket;
const REGION = publisher.fleet!.region;
const BACKUP_ROLE = publisher.offsiteBackup!.roleName;
const MEMBER_ROLE = fleetMember.fleet!.roleName!;
const creds: Credentials = {
  AccessKeyId: "AKTPPUBLISHKEY",
  SecretAccessKey: "publish-secret-cHVibGlzaA",
  SessionToken: "publish-session-token-c2Vzcw",
};
const SETTINGS = {
  NODE_ENV: "production",
  JWT_SECRET: "jwt-secret-value-7a6b5c",
  DATABASE_URL: "postgres://app:pw-1d2e3f@10.0.0.5/todo",
  TRUSTED_PROXIES: "10.0.0.0/8",
};
const dir = mkdtempSync(join(tmpdir(), "todo-fleet-publish-"));
/** The kit's files as installed on server 1 (rendered from the publisher's options), under dir/server1. */
const server1 = join(dir, "server1");
for (const f of serverFiles(publisher)) {
  if (!f.path.startsWith("/usr/local/lib/todo/")) continue;
  mkdirSync(dirname(join(server1, f.path)), { recursive: true });
  writeFileSync(join(server1, f.path), f.content);
}
const publishScript = join(server1, "/usr/local/lib/todo/fleet-publish.mjs");
const hostConf = join(server1, "todo-host.conf");
writeFileSync(hostConf, serverFiles(publisher).find((f) => f.path === "/etc/todo-host.conf")!.content);
const envFile = join(server1, "env");
let s3: S3StandIn;
let server1Metadata: MetadataStandIn;
let memberMetadata: MetadataStandIn;
let n = 0;

beforeAll(async () => {
  s3 = await startS3StandIn({ bucket: BUCKET, region: REGION, creds: () => creds });
  server1Metadata = await startMetadataStandIn(BACKUP_ROLE, () => creds, { tokens: "enforced" });
  memberMetadata = await startMetadataStandIn(MEMBER_ROLE, () => creds, { tokens: "enforced" });
});
afterAll(async () => {
  await Promise.all([s3.close(), server1Metadata.close(), memberMetadata.close()]);
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  for (const key of [...s3.objects.keys()]) s3.objects.delete(key);
  s3.log.length = 0;
  // As todo-release set-env leaves it: a changed key moves to the end.
  writeFileSync(
    envFile,
    `${Object.entries(SETTINGS)
      .map(([k, v]) => `${k}=${v}\n`)
      .join("")}`,
  );
});

const sha256 = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");
const secrets = [...Object.values(SETTINGS).slice(1), creds.SecretAccessKey, creds.SessionToken];

/** todo-fleet-publish as a program, its settings from the host settings file; the stand-ins' addresses by environment. */
function publish(args: string[], extra: NodeJS.ProcessEnv = {}) {
  return runAsync(process.execPath, [publishScript, ...args], {
    env: {
      PATH: process.env.PATH,
      TODO_HOST_CONF: hostConf,
      TODO_ENV_FILE: envFile,
      FLEET_ENDPOINT: s3.url,
      FLEET_PATH_STYLE: "1",
      TODO_METADATA_URL: server1Metadata.url,
      FLEET_PENDING: join(server1, "fleet-pending"),
      FLEET_RETRY_MS: "10",
      ...extra,
    },
  });
}
const release = () => makeRelease(dir, `r${++n}`);
const pending = () => parseFleetPointer(readFileSync(join(server1, "fleet-pending"), "utf8"));

describe("todo-fleet-publish <tarball>", () => {
  it("uploads the tarball and the settings under fleet/<deploy>/ with the backup role, and records the pointer as pending", async () => {
    const r = release();
    const out = await publish([r.path]);
    expect(out.status, out.stderr).toBe(0);
    const pointer = pending();
    const tarball = readFileSync(r.path);
    expect(pointer).toEqual({
      release: r.hash,
      tarballSha256: sha256(tarball),
      envSha256: pointer.envSha256,
    });
    expect(s3.objects.get(fleetTarballKey(pointer))).toEqual(tarball);
    const env = s3.objects.get(fleetEnvKey(pointer))!;
    expect(sha256(env)).toBe(pointer.envSha256);
    // the settings, sorted by name: the same settings always make the same deploy
    expect(env.toString()).toBe(JSON.stringify(Object.fromEntries(Object.entries(SETTINGS).sort())));
    expect(s3.objects.has(FLEET_CURRENT_KEY)).toBe(false);
    expect(s3.log.map((l) => [l.method, l.path, l.status])).toEqual([
      ["PUT", `/${BUCKET}/${fleetTarballKey(pointer)}`, 200],
      ["PUT", `/${BUCKET}/${fleetEnvKey(pointer)}`, 200],
    ]);
    const deploy = `${r.hash}-${pointer.envSha256.slice(0, 12)}`;
    expect(out.stdout).toContain(`published deploy ${deploy} to tos://${BUCKET}/fleet/${deploy}/`);
    expect(out.stdout).toContain("4 settings, values not shown");
    for (const secret of secrets) expect(out.stdout + out.stderr).not.toContain(secret);
  });

  it("is safe to retry: a re-run, with the settings file reordered, writes the same keys and bytes", async () => {
    const r = release();
    expect((await publish([r.path])).status).toBe(0);
    const snapshot = () => new Map([...s3.objects.keys()].sort().map((k) => [k, s3.objects.get(k)]));
    const first = snapshot();
    const pointer = pending();
    writeFileSync(
      envFile,
      `${Object.entries(SETTINGS)
        .reverse()
        .map(([k, v]) => `${k}=${v}\n`)
        .join("")}`,
    );
    expect((await publish([r.path])).status).toBe(0);
    expect(pending()).toEqual(pointer);
    expect(snapshot()).toEqual(first);
    expect(first.size).toBe(2);
    // and a 503 on the way is retried
    s3.failNext(1, 503);
    const retried = await publish([r.path]);
    expect(retried.status, retried.stderr).toBe(0);
    expect(retried.stderr).toMatch(/^todo-fleet-publish: PUT fleet\/\S+: HTTP 503 ServiceUnavailable; retrying/);
  });

  it("makes a settings-only change a new deploy of the same release", async () => {
    const r = release();
    await publish([r.path]);
    const before = pending();
    writeFileSync(envFile, readFileSync(envFile, "utf8").replace(SETTINGS.JWT_SECRET, "rotated-3c2b1a"));
    await publish([r.path]);
    const after = pending();
    expect(after.release).toBe(before.release);
    expect(after.envSha256).not.toBe(before.envSha256);
    expect(s3.objects.has(fleetEnvKey(before))).toBe(true);
    expect(JSON.parse(s3.objects.get(fleetEnvKey(after))!.toString()).JWT_SECRET).toBe("rotated-3c2b1a");
  });

  it("says what the bucket refused, records nothing and prints no value", async () => {
    // A bucket policy without PutObject on fleet/* (the stand-in itself grants every signed request).
    const relay = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      if (req.method === "PUT" && req.url?.includes("/fleet/"))
        return res
          .writeHead(403, { "content-type": "application/xml" })
          .end("<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>");
      res.writeHead(500).end();
    });
    const url = await listen(relay);
    try {
      const r = release();
      rmSync(join(server1, "fleet-pending"), { force: true });
      const out = await publish([r.path], { FLEET_ENDPOINT: url });
      expect(out.status).toBe(1);
      expect(out.stderr).toMatch(
        /^todo-fleet-publish: error: PUT fleet\/[0-9a-f]{12}-[0-9a-f]{12}\/release\.tar\.gz: HTTP 403 AccessDenied\n$/,
      );
      expect(() => pending()).toThrow();
      for (const secret of secrets) expect(out.stdout + out.stderr).not.toContain(secret);
    } finally {
      await new Promise((resolve) => relay.close(resolve));
    }
  });

  it("refuses what is not a release tarball, and settings a fleet server could not set, before any upload", async () => {
    const notRelease = join(dir, "something.tar.gz");
    writeFileSync(notRelease, "x");
    const bad = await publish([notRelease]);
    expect(bad.stderr).toBe(
      `todo-fleet-publish: error: ${notRelease} is not a release tarball (todo-api-<12 hex>.tar.gz)\n`,
    );
    writeFileSync(envFile, "NODE_ENV=production\nlower_case=x\n");
    const lower = await publish([release().path]);
    expect(lower.stderr).toBe(
      `todo-fleet-publish: error: ${envFile}: setting lower_case is not an upper-case name a fleet server can set\n`,
    );
    const none = await publish([release().path], { TODO_ENV_FILE: join(dir, "no-env") });
    expect(none.stderr).toContain("cannot read the app's settings");
    expect([bad.status, lower.status, none.status]).toEqual([1, 1, 1]);
    expect(s3.log).toEqual([]);
    const usage = await publish([]);
    expect(usage).toMatchObject({
      status: 1,
      stderr: "todo-fleet-publish: error: usage: todo-fleet-publish <tarball> | --point\n",
    });
  });
});

describe("todo-fleet-publish --point, then a fleet member's first boot", () => {
  it("moves fleet/current to the pending deploy, which the member's join (from its user data) pulls and deploys", async () => {
    const r = release();
    expect((await publish([r.path])).status).toBe(0);
    const pointed = await publish(["--point"]);
    expect(pointed.status, pointed.stderr).toBe(0);
    const pointer = pending();
    const deploy = `${r.hash}-${pointer.envSha256.slice(0, 12)}`;
    expect(pointed.stdout).toBe(`fleet/current now names deploy ${deploy} in tos://${BUCKET}\n`);
    expect(parseFleetPointer(s3.objects.get(FLEET_CURRENT_KEY)!.toString())).toEqual(pointer);

    // The member's user data, decoded where cloud-init would write it (under a root of its own).
    const member = join(dir, `member-${++n}`);
    const { files } = decodeCloudConfig(renderCloudInit(fleetMember));
    for (const f of files.values()) {
      mkdirSync(dirname(join(member, f.path)), { recursive: true });
      writeFileSync(join(member, f.path), f.content);
    }
    const join_ = (await import(join(member, "/usr/local/lib/todo/fleet-join.mjs"))) as {
      settings(env: NodeJS.ProcessEnv): Record<string, unknown>;
      joinFleet(
        s: Record<string, unknown>,
        io: { exec: (command: string, args: string[], input?: string) => void; say: (l: string) => void },
      ): Promise<string>;
    };
    const steps: { command: string; args: string[]; input?: string }[] = [];
    const tmp = join(member, "tmp");
    mkdirSync(tmp);
    const s = join_.settings({
      TODO_HOST_CONF: join(member, "/etc/todo-host.conf"),
      FLEET_ENDPOINT: s3.url,
      FLEET_PATH_STYLE: "1",
      TODO_METADATA_URL: memberMetadata.url,
      FLEET_STATE: join(member, "fleet-deploy"),
      FLEET_TARBALL_DIR: tmp,
      FLEET_RETRY_MS: "10",
    });
    // the member reads with its own role, named in its host settings
    expect(s).toMatchObject({ bucket: BUCKET, region: REGION, role: MEMBER_ROLE });
    const said: string[] = [];
    const joined = await join_.joinFleet(s, {
      exec: (command, args, input) => steps.push({ command, args, ...(input === undefined ? {} : { input }) }),
      say: (l) => said.push(l),
    });
    expect(joined).toBe(deploy);
    const file = join(tmp, `todo-api-${r.hash}.tar.gz`);
    expect(steps).toEqual([
      { command: "sh", args: ["-ec", installKitCommands(file, r.hash, "").join("\n")] },
      ...Object.entries(SETTINGS)
        .sort()
        .map(([name, value]) => ({ command: "/usr/local/sbin/todo-release", args: ["set-env", name], input: value })),
      { command: "sh", args: ["-ec", switchReleaseCommands(file, "", "todo-api").join("\n")] },
    ]);
    expect(readFileSync(join(member, "fleet-deploy"), "utf8")).toBe(`${deploy}\n`);
    for (const secret of secrets) expect(said.join("\n")).not.toContain(secret);
  });

  it("says so when nothing was published", async () => {
    const out = await publish(["--point"], { FLEET_PENDING: join(dir, "none") });
    expect(out).toMatchObject({
      status: 1,
      stderr: `todo-fleet-publish: error: nothing to point at: ${join(dir, "none")} is missing (run 'todo-fleet-publish <tarball>' first)\n`,
    });
    expect(s3.log).toEqual([]);
  });
});
