import { runAsync } from "./helpers.js";
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  type Credentials,
  startMetadataStandIn,
  type MetadataStandIn,
} from "../../local-cloud/services/ecs/metadata.js";
import { startS3StandIn, type S3StandIn } from "../../local-cloud/services/tos/s3-data-plane.js";

/**
 * cloud-init/lib/offsite.mjs, run as the server runs it (`node offsite.mjs ...`), against a
 * stand-in S3 store that checks every SigV4 signature and a stand-in ECS metadata service that,
 * like an instance with token mode enforced, hands out credentials only against a session token
 * (one test uses a service without the token endpoint).
 */
const client = fileURLToPath(new URL("../../cloud-init/lib/offsite.mjs", import.meta.url));
const BUCKET = "todo-api-dev-backups-1a2b3c4d";
const ROLE = "todo-api-dev-backup";
const REGION = "cn-beijing";
const dir = mkdtempSync(join(tmpdir(), "todo-offsite-"));

let creds: Credentials = {
  AccessKeyId: "AKTPTESTKEY",
  SecretAccessKey: "test-secret-Zm9vYmFy",
  SessionToken: "session-token-1",
};
let s3: S3StandIn;
let metadata: MetadataStandIn;

beforeAll(async () => {
  s3 = await startS3StandIn({ bucket: BUCKET, region: REGION, creds: () => creds, pageSize: 2 });
  metadata = await startMetadataStandIn(ROLE, () => creds, { tokens: "enforced" });
});
afterAll(async () => {
  await s3.close();
  await metadata.close();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  s3.failNext(0);
  metadata.failNext(0);
});

function offsite(
  args: string[],
  extra: NodeJS.ProcessEnv = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return runAsync(process.execPath, [extra.OFFSITE_CLIENT_PATH ?? client, ...args], {
    env: {
      PATH: process.env.PATH,
      TODO_HOST_CONF: join(dir, "no-such-host.conf"),
      OFFSITE_BUCKET: BUCKET,
      OFFSITE_REGION: REGION,
      OFFSITE_ENDPOINT: s3.url,
      OFFSITE_ROLE: ROLE,
      OFFSITE_PATH_STYLE: "1",
      TODO_METADATA_URL: metadata.url,
      OFFSITE_RETRY_MS: "20",
      ...extra,
    },
  });
}

function dump(name: string, content: string | Buffer): string {
  const file = join(dir, name);
  writeFileSync(file, content);
  return file;
}

describe("offsite.mjs", () => {
  it("uploads a dump under postgres/ with a valid SigV4 signature and the role's session token", async () => {
    const body = Buffer.concat([Buffer.from("PGDMP"), Buffer.alloc(300_000, 7)]);
    const file = dump("todo_api-20261127T033000Z.dump", body);
    const r = await offsite(["upload", file]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`tos://${BUCKET}/postgres/todo_api-20261127T033000Z.dump (${body.length} bytes)`);
    expect(s3.objects.get("postgres/todo_api-20261127T033000Z.dump")?.equals(body)).toBe(true);
    expect(s3.log.at(-1)).toMatchObject({ method: "PUT", status: 200 });
    // token first, then the credentials with it (the service refuses them without)
    expect(metadata.log.slice(-2)).toEqual([
      { method: "GET", path: "/latest/api/token", withToken: false, status: 200 },
      { method: "GET", path: `/volcstack/latest/iam/security_credentials/${ROLE}`, withToken: true, status: 200 },
    ]);
    // nothing secret is printed
    expect(r.stdout + r.stderr).not.toContain(creds.SecretAccessKey);
    expect(r.stdout + r.stderr).not.toContain(creds.SessionToken);
  });

  it("the metadata stand-in really enforces tokens: no credentials for a plain or a forged request", async () => {
    const path = `${metadata.url}/volcstack/latest/iam/security_credentials/${ROLE}`;
    expect((await fetch(path)).status).toBe(401);
    expect((await fetch(path, { headers: { "X-volc-ecs-metadata-token": "forged" } })).status).toBe(401);
    expect((await fetch(`${metadata.url}/latest/api/token`)).status).toBe(400); // no TTL header
  });

  it("falls back to the plain credential request when the metadata service has no token endpoint", async () => {
    const v1 = await startMetadataStandIn(ROLE, () => creds, { tokens: "absent" });
    try {
      const file = dump("todo_api-20261127T034500Z.dump", "PGDMP v1");
      const r = await offsite(["upload", file], { TODO_METADATA_URL: v1.url });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toBe("");
      expect(s3.objects.get("postgres/todo_api-20261127T034500Z.dump")?.toString()).toBe("PGDMP v1");
      expect(v1.log).toEqual([
        { method: "GET", path: "/latest/api/token", withToken: false, status: 404 },
        { method: "GET", path: `/volcstack/latest/iam/security_credentials/${ROLE}`, withToken: false, status: 200 },
      ]);
    } finally {
      await v1.close();
      s3.objects.delete("postgres/todo_api-20261127T034500Z.dump"); // the listing tests below count dumps
    }
  });

  it("is refused by the store when it signs with the wrong secret (the stand-in really verifies)", async () => {
    const good = creds;
    const file = dump("todo_api-20261127T040000Z.dump", "PGDMP wrong");
    // The metadata service hands out a secret that differs from the one the store knows.
    const wrong = { ...good, SecretAccessKey: "not-the-secret" };
    const bad = await startMetadataStandIn(ROLE, () => wrong);
    try {
      const r = await offsite(["upload", file], { TODO_METADATA_URL: bad.url });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain("HTTP 403 SignatureDoesNotMatch");
      expect(r.stderr).not.toContain("retrying"); // a 403 is not retried
      expect(s3.log.at(-1)).toMatchObject({ status: 403, reason: "signature mismatch" });
      expect(s3.objects.has("postgres/todo_api-20261127T040000Z.dump")).toBe(false);
    } finally {
      await bad.close();
    }
  });

  it("retries 5xx answers of the store and of the metadata service with backoff, then succeeds", async () => {
    const file = dump("todo_api-20261128T033000Z.dump", "PGDMP retried");
    const seen = metadata.log.length;
    s3.failNext(2, 503);
    metadata.failNext(1);
    const r = await offsite(["upload", file]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr.match(/retrying in \d+ ms/g)).toHaveLength(3);
    expect(r.stderr).toContain("retrying in 20 ms (attempt 2 of 5)");
    expect(r.stderr).toContain("retrying in 40 ms (attempt 3 of 5)");
    expect(s3.objects.get("postgres/todo_api-20261128T033000Z.dump")?.toString()).toBe("PGDMP retried");
    // the metadata failure hit the token request; it was retried, never downgraded to a plain request
    const exchanges = metadata.log.slice(seen);
    expect(exchanges[0]).toMatchObject({ path: "/latest/api/token", status: 500 });
    expect(exchanges.filter((l) => !l.withToken && l.path.includes("security_credentials"))).toEqual([]);
  });

  it("gives up after the last attempt and fails with the store's error", async () => {
    const file = dump("todo_api-20261128T050000Z.dump", "PGDMP never");
    s3.failNext(10, 500);
    const r = await offsite(["upload", file], { OFFSITE_ATTEMPTS: "3" });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      "todo-offsite: error: PUT postgres/todo_api-20261128T050000Z.dump: HTTP 500 ServiceUnavailable",
    );
    expect(r.stderr.match(/retrying/g)).toHaveLength(2);
    expect(s3.objects.has("postgres/todo_api-20261128T050000Z.dump")).toBe(false);
  });

  it("fails clearly when the store cannot be reached at all", async () => {
    const file = dump("todo_api-20261128T060000Z.dump", "PGDMP");
    const r = await offsite(["upload", file], { OFFSITE_ENDPOINT: "http://127.0.0.1:9", OFFSITE_ATTEMPTS: "2" });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/retrying in 20 ms \(attempt 2 of 2\)/);
    expect(r.stderr).toMatch(/todo-offsite: error: .*ECONNREFUSED/);
  });

  it("lists the dumps (all pages) and those of one day, oldest first", async () => {
    s3.objects.set("postgres/todo_api-20261126T033000Z.dump", Buffer.from("PGDMP 26"));
    s3.objects.set("postgres/notes.txt", Buffer.from("not a dump"));
    const all = await offsite(["list"]);
    expect(all.status, all.stderr).toBe(0);
    expect(
      all.stdout
        .trim()
        .split("\n")
        .map((l) => l.split("\t")[0]),
    ).toEqual([
      "postgres/todo_api-20261126T033000Z.dump",
      "postgres/todo_api-20261127T033000Z.dump",
      "postgres/todo_api-20261128T033000Z.dump",
    ]);
    // pageSize 2 in the stand-in: the listing needed continuation requests
    expect(s3.log.filter((l) => l.path.includes("continuation-token")).length).toBeGreaterThan(0);
    const day = await offsite(["list", "2026-11-27"]);
    expect(
      day.stdout
        .trim()
        .split("\n")
        .map((l) => l.split("\t")[0]),
    ).toEqual(["postgres/todo_api-20261127T033000Z.dump"]);
    expect((await offsite(["list", "2026-01-01"])).stdout).toBe("");
  });

  it("downloads the newest dump of a day, the newest overall, or a key, without partial files", async () => {
    const out = join(dir, "restore");
    mkdirSync(out);
    s3.objects.set("postgres/todo_api-20261127T230000Z.dump", Buffer.from("PGDMP 27 late"));
    const byDay = await offsite(["download", "2026-11-27", out]);
    expect(byDay.status, byDay.stderr).toBe(0);
    expect(byDay.stdout.trim()).toBe(join(out, "todo_api-20261127T230000Z.dump"));
    expect(readFileSync(byDay.stdout.trim(), "utf8")).toBe("PGDMP 27 late");
    const latest = await offsite(["download", "latest", out]);
    expect(readFileSync(latest.stdout.trim(), "utf8")).toBe("PGDMP retried");
    const byKey = await offsite(["download", "postgres/todo_api-20261126T033000Z.dump", out]);
    expect(readFileSync(byKey.stdout.trim(), "utf8")).toBe("PGDMP 26");
    expect(readdirSync(out).filter((f) => f.startsWith("."))).toEqual([]);

    const none = await offsite(["download", "2025-01-01", out]);
    expect(none.status).toBe(1);
    expect(none.stderr).toContain(`no backup in bucket ${BUCKET} from 2025-01-01`);
    const escaping = await offsite(["download", "../etc/passwd", out]);
    expect(escaping.status).toBe(1);
    expect(escaping.stderr).toContain("not a backup key");
  });

  it("uses fresh credentials for every attempt (rotated role credentials keep working)", async () => {
    creds = { AccessKeyId: "AKTPROTATED", SecretAccessKey: "rotated-secret", SessionToken: "session-token-2" };
    const file = dump("todo_api-20261129T033000Z.dump", "PGDMP rotated");
    const r = await offsite(["upload", file]);
    expect(r.status, r.stderr).toBe(0);
    expect(s3.objects.has("postgres/todo_api-20261129T033000Z.dump")).toBe(true);
  });

  it("runs through a symlinked release directory as on the server (/opt/<app>/current)", async () => {
    const release = join(dir, "releases/0123456789ab");
    mkdirSync(release, { recursive: true });
    copyFileSync(client, join(release, "offsite.mjs"));
    copyFileSync(join(dirname(client), "role-client.mjs"), join(release, "role-client.mjs"));
    symlinkSync(release, join(dir, "current"));
    const r = await offsite(["list", "2026-11-27"], { OFFSITE_CLIENT_PATH: join(dir, "current/offsite.mjs") });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("postgres/todo_api-20261127T033000Z.dump");
  });

  it("reads its settings from the host settings file and refuses to run unconfigured", async () => {
    const conf = join(dir, "host.conf");
    writeFileSync(
      conf,
      `APP_NAME='todo-api'\nOFFSITE_BUCKET='${BUCKET}'\nOFFSITE_REGION='${REGION}'\nOFFSITE_ENDPOINT='${s3.url}'\nOFFSITE_ROLE='${ROLE}'\n`,
    );
    const viaFile = await offsite(["list"], {
      TODO_HOST_CONF: conf,
      OFFSITE_BUCKET: "",
      OFFSITE_REGION: "",
      OFFSITE_ENDPOINT: "",
      OFFSITE_ROLE: "",
    });
    expect(viaFile.status, viaFile.stderr).toBe(0);
    expect(viaFile.stdout).toContain("postgres/todo_api-20261129T033000Z.dump");
    const unconfigured = await offsite(["list"], { OFFSITE_BUCKET: "" });
    expect(unconfigured.status).toBe(1);
    expect(unconfigured.stderr).toContain("OFFSITE_BUCKET missing");
    const usage = await offsite(["frobnicate"]);
    expect(usage.stderr).toContain("usage: offsite.mjs upload <file>");
  });
});
