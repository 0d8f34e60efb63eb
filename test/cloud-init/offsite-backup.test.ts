import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CloudInitOptions } from "../../cloud-init/options.js";
import { createTestDatabase } from "../support/database.js";
import { findPostgresBin } from "../../harness/support/pg-cluster.js";
import { readyInstances, renderedFiles, runAsync, SHELL_LIBRARY_ENV } from "./helpers.js";
import { startMetadataStandIn, type MetadataStandIn } from "../../local-cloud/services/ecs/metadata.js";
import { startS3StandIn, type S3StandIn } from "../../local-cloud/services/tos/s3-data-plane.js";
import { requireTool } from "../support/tools.js";
import { backupEnv, dropWithCopies } from "./backup-database.js";

const pgDump = requireTool("pg_dump");
const systemdAnalyze = requireTool("systemd-analyze");

/**
 * todo-backup and todo-restore as rendered for a stack with an off-site bucket, against the test
 * run's real PostgreSQL, the stand-in S3 store (verifying signatures) and metadata service.
 * The host settings file is the rendered one with only the endpoint pointed at the stand-in.
 */
const client = fileURLToPath(new URL("../../cloud-init/lib/offsite.mjs", import.meta.url));
const options: CloudInitOptions = {
  environment: "dev",
  databaseMode: "local",
  offsiteBackup: {
    bucket: "todo-api-dev-backups-1a2b3c4d",
    region: "cn-beijing",
    endpoint: "https://tos-s3-cn-beijing.volces.com",
    roleName: "todo-api-dev-backup",
  },
};
const creds = { AccessKeyId: "AKTPBACKUP", SecretAccessKey: "backup-secret", SessionToken: "backup-token" };
const dir = mkdtempSync(join(tmpdir(), "todo-offsite-backup-"));
const backups = join(dir, "backups");
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let _dbName = "";
let env: NodeJS.ProcessEnv = {};
let s3: S3StandIn;
let metadata: MetadataStandIn;

const query = async (sql: string) => {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    return (await c.query(sql)).rows;
  } finally {
    await c.end();
  }
};

let instances: Awaited<ReturnType<typeof readyInstances>> | undefined;

beforeAll(async () => {
  s3 = await startS3StandIn({ bucket: options.offsiteBackup!.bucket, region: "cn-beijing", creds: () => creds });
  metadata = await startMetadataStandIn(options.offsiteBackup!.roleName, () => creds, { tokens: "enforced" });
  db = await createTestDatabase();
  const url = new URL(db.url);
  _dbName = url.pathname.slice(1);
  const files = renderedFiles(options);
  for (const name of ["todo-backup", "todo-restore"]) {
    writeFileSync(join(dir, name), files.get(`/usr/local/sbin/${name}`)!.content);
    chmodSync(join(dir, name), 0o755);
  }
  const hostConf = files.get("/etc/todo-host.conf")!.content;
  expect(hostConf).toContain("OFFSITE_BUCKET='todo-api-dev-backups-1a2b3c4d'");
  expect(hostConf).toContain("OFFSITE_ROLE='todo-api-dev-backup'");
  expect(hostConf).toContain("OFFSITE_ENDPOINT='https://tos-s3-cn-beijing.volces.com'");
  // The scripts source this file, so the endpoint is pointed at the stand-in here.
  // app instances that answer /readyz, and a release command whose migrations succeed (todo-restore runs them)
  instances = await readyInstances(2);
  writeFileSync(
    join(dir, "host.conf"),
    hostConf
      .replace("https://tos-s3-cn-beijing.volces.com", s3.url)
      .replace(/^APP_PORTS=.*$/m, `APP_PORTS='${instances.ports.join(" ")}'`),
  );
  writeFileSync(join(dir, "todo-release"), '#!/bin/sh\n[ "$1" = migrate ]\n');
  chmodSync(join(dir, "todo-release"), 0o755);
  writeFileSync(join(dir, "systemctl"), "#!/bin/sh\nexit 0\n");
  chmodSync(join(dir, "systemctl"), 0o755);
  env = {
    ...backupEnv(db.url, { dir, backups }),
    TODO_DB_ROLE: decodeURIComponent(url.username),
    TODO_RUN_AS_POSTGRES: "",
    SYSTEMCTL: join(dir, "systemctl"),
    TODO_RELEASE_CMD: join(dir, "todo-release"),
    TODO_LOCK_FILE: join(dir, "release.lock"),
    TODO_OFFSITE_CLIENT: client,
    // Stand-ins instead of TOS and the ECS metadata service; everything else from host.conf.
    OFFSITE_PATH_STYLE: "1",
    TODO_METADATA_URL: metadata.url,
    OFFSITE_RETRY_MS: "10",
    OFFSITE_ATTEMPTS: "2",
  };
  await query(
    "create table todos (id serial primary key, title text not null); insert into todos (title) values ('offsite one');",
  );
});

afterAll(async () => {
  instances?.stop();
  await s3?.close();
  await metadata?.close();
  if (db) await dropWithCopies(db);
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(pgDump.missing)("todo-backup with an off-site bucket", () => {
  it("uploads the new dump to the bucket under postgres/ and keeps the local copy", async () => {
    const r = await runAsync("bash", [join(dir, "todo-backup")], { env });
    expect(r.status, r.stderr).toBe(0);
    const local = readdirSync(backups).filter((f) => f.endsWith(".dump"));
    expect(local).toHaveLength(1);
    expect(r.stdout).toContain(`to tos://todo-api-dev-backups-1a2b3c4d/postgres/${local[0]}`);
    expect(s3.objects.get(`postgres/${local[0]}`)?.subarray(0, 5).toString()).toBe("PGDMP");
  });

  it("fails the run (so the unit shows failed) when the upload fails, keeping the local dump", async () => {
    await new Promise((r) => setTimeout(r, 1100)); // dump names have a one-second resolution
    const before = readdirSync(backups).length;
    s3.failNext(2, 503);
    const r = await runAsync("bash", [join(dir, "todo-backup")], { env: { ...env } });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /todo-backup: error: copying .*\.dump to TOS bucket todo-api-dev-backups-1a2b3c4d failed; the local copy is kept/,
    );
    expect(readdirSync(backups).length).toBe(before + 1);
    const kept = /copying (\S+) to TOS/.exec(r.stderr)![1]!;
    expect(readdirSync(backups)).toContain(kept.split("/").pop());
    expect(s3.objects.has(`postgres/${kept.split("/").pop()}`)).toBe(false);
  });

  it("todo-restore lists the bucket's dumps and restores one of them by date", async () => {
    const listed = await runAsync("bash", [join(dir, "todo-restore"), "--list-offsite"], { env });
    expect(listed.status, listed.stderr).toBe(0);
    const keys = listed.stdout
      .trim()
      .split("\n")
      .map((l) => l.split("\t")[0]!);
    expect(keys).toHaveLength(1);
    // the server loses its local copies: the bucket is what is left
    rmSync(backups, { recursive: true, force: true });
    await query("delete from todos");
    const day = /-(\d{4})(\d{2})(\d{2})T/.exec(keys[0]!)!.slice(1).join("-");
    const r = await runAsync("bash", [join(dir, "todo-restore"), `offsite:${day}`], { env });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`downloaded ${join(backups, keys[0]!.replace("postgres/", ""))}`);
    expect((await query("select title from todos")).map((row) => row.title)).toEqual(["offsite one"]);
  });

  it("todo-restore says so when the bucket has no dump of that day", async () => {
    const r = await runAsync("bash", [join(dir, "todo-restore"), "offsite:2001-01-01"], { env });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(
      "no backup in bucket todo-api-dev-backups-1a2b3c4d from 2001-01-01; nothing was downloaded",
    );
  });
});

describe.skipIf(pgDump.missing)(
  "todo-backup in rds mode (dump of the managed database, for the off-site copy only)",
  () => {
    const rdsOptions: CloudInitOptions = { ...options, databaseMode: "rds" };

    it.skipIf(systemdAnalyze.missing)(
      "is installed with a unit that runs as the app user with the app's env file, and no todo-restore",
      () => {
        const files = renderedFiles(rdsOptions);
        expect(files.has("/usr/local/sbin/todo-backup")).toBe(true);
        expect(files.has("/usr/local/sbin/todo-restore")).toBe(false);
        const unit = files.get("/etc/systemd/system/todo-api-backup.service")!.content;
        for (const line of [
          "User=todo-api",
          "EnvironmentFile=/etc/todo-api/env",
          "ReadWritePaths=/var/backups/todo-api",
          "ProtectSystem=strict",
        ]) {
          expect(unit).toContain(line);
        }
        expect(unit).not.toContain("postgresql.service");
        // systemd-analyze verify, with the script at a temporary path (verify checks ExecStart exists)
        const verifyDir = join(dir, "verify");
        mkdirSync(verifyDir, { recursive: true });
        writeFileSync(join(verifyDir, "todo-backup"), "#!/bin/sh\n");
        chmodSync(join(verifyDir, "todo-backup"), 0o755);
        writeFileSync(
          join(verifyDir, "todo-api-backup.service"),
          unit.replace("/usr/local/sbin/todo-backup", join(verifyDir, "todo-backup")),
        );
        writeFileSync(
          join(verifyDir, "todo-api-backup.timer"),
          files.get("/etc/systemd/system/todo-api-backup.timer")!.content,
        );
        const verify = spawnSync(
          "systemd-analyze",
          ["verify", "--man=no", join(verifyDir, "todo-api-backup.service"), join(verifyDir, "todo-api-backup.timer")],
          { encoding: "utf8" },
        );
        expect(verify.stderr).toBe("");
        expect(verify.status).toBe(0);
        expect(files.has("/etc/systemd/system/todo-api-backup.timer")).toBe(true);
        // without a bucket (the stack always sets one) rds mode has no backup at all
        expect(renderedFiles({ environment: "dev", databaseMode: "rds" }).has("/usr/local/sbin/todo-backup")).toBe(
          false,
        );
      },
    );

    it("dumps DATABASE_URL with the password only in pg_dump's environment, and uploads it", async () => {
      const files = renderedFiles(rdsOptions);
      const rdsDir = join(dir, "rds");
      const bin = join(rdsDir, "bin");
      mkdirSync(bin, { recursive: true });
      writeFileSync(join(rdsDir, "todo-backup"), files.get("/usr/local/sbin/todo-backup")!.content);
      writeFileSync(
        join(rdsDir, "host.conf"),
        files.get("/etc/todo-host.conf")!.content.replace("https://tos-s3-cn-beijing.volces.com", s3.url),
      );
      expect(files.get("/etc/todo-host.conf")!.content).toContain("DB_MODE='rds'");
      // pg_dump stand-in on PATH: records its arguments and PGPASSWORD, then runs the real one.
      const realPgDump = spawnSync("sh", ["-c", "command -v pg_dump"], {
        encoding: "utf8",
        env: { PATH: [findPostgresBin(), process.env.PATH].filter(Boolean).join(delimiter) },
      }).stdout.trim();
      expect(realPgDump).not.toBe("");
      writeFileSync(
        join(bin, "pg_dump"),
        `#!/bin/sh\nprintf '%s\\n' "$@" >"${rdsDir}/args"\nprintf '%s' "$PGPASSWORD" >"${rdsDir}/password"\nexec "${realPgDump}" "$@"\n`,
      );
      chmodSync(join(bin, "pg_dump"), 0o755);
      // The test cluster trusts local connections, so any password works; this one needs URL-encoding.
      const password = "p@ss:w/rd%é";
      const url = new URL(db.url);
      url.password = encodeURIComponent(password);
      const r = await runAsync("bash", [join(rdsDir, "todo-backup")], {
        env: {
          PATH: [bin, findPostgresBin(), process.env.PATH].filter(Boolean).join(delimiter),
          ...SHELL_LIBRARY_ENV,
          TODO_HOST_CONF: join(rdsDir, "host.conf"),
          TODO_BACKUP_DIR: join(rdsDir, "backups"),
          TODO_OFFSITE_CLIENT: client,
          DATABASE_URL: url.toString(),
          OFFSITE_PATH_STYLE: "1",
          TODO_METADATA_URL: metadata.url,
          OFFSITE_RETRY_MS: "10",
        },
      });
      expect(r.status, r.stderr).toBe(0);
      const args = readFileSync(join(rdsDir, "args"), "utf8");
      expect(readFileSync(join(rdsDir, "password"), "utf8")).toBe(password);
      expect(args).not.toContain(encodeURIComponent(password));
      expect(args).not.toContain("p@ss");
      expect(args).toContain(`--dbname=postgres://${url.username}@${url.host}${url.pathname}`);
      const dump = readdirSync(join(rdsDir, "backups")).find((f) => f.endsWith(".dump"))!;
      expect(s3.objects.get(`postgres/${dump}`)?.subarray(0, 5).toString()).toBe("PGDMP");
    });
  },
);
