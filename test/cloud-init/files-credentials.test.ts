/**
 * The API's TOS credentials for attachments: cloud-init/lib/files-credentials.mjs run as its unit
 * runs it, against the ECS metadata stand-in with token mode enforced, and the unit itself
 * (rendered only when the host settings name a files role). The API's unit keeps its deny of the
 * metadata address; this unit may reach that address and nothing else.
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { installServerFiles } from "../../cloud-init/kit.js";
import { optionsFromHostConf } from "../../cloud-init/host-conf.js";
import { serverFiles } from "../../cloud-init/render.js";
import { renderHostConf } from "../../cloud-init/host-conf.js";
import { parseCloudInitOptions } from "../../cloud-init/options.js";
import {
  type Credentials,
  startMetadataStandIn,
  type MetadataStandIn,
} from "../../local-cloud/services/ecs/metadata.js";
import { renderedFiles, run, runAsync, SHELL_LIBRARY_ENV, variants } from "./helpers.js";
import { requireTool } from "../support/tools.js";

const script = fileURLToPath(new URL("../../cloud-init/lib/files-credentials.mjs", import.meta.url));
const ROLE = "todo-api-prod-backup";
const NOBODY = 65534;
const dir = mkdtempSync(join(tmpdir(), "todo-files-credentials-"));
const creds: Credentials = {
  AccessKeyId: "AKTPFILESKEY",
  SecretAccessKey: "files-secret-c2VjcmV0",
  SessionToken: "files-session-token",
};
let metadata: MetadataStandIn;

beforeAll(async () => {
  metadata = await startMetadataStandIn(ROLE, () => creds, { tokens: "enforced" });
});
afterAll(async () => {
  await metadata.close();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => metadata.failNext(0));

const isRoot = process.getuid?.() === 0;

function credentials(
  file: string,
  extra: NodeJS.ProcessEnv = {},
  ids: { uid?: number; gid?: number } = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return runAsync(process.execPath, [script, file], {
    ...ids,
    env: {
      PATH: process.env.PATH,
      TODO_HOST_CONF: join(dir, "no-such-host.conf"),
      FILES_ROLE: ROLE,
      TODO_METADATA_URL: metadata.url,
      FILES_CREDENTIALS_RETRY_MS: "20",
      ...extra,
    },
  });
}

describe("files-credentials.mjs", () => {
  it("writes the role's credentials as the API reads them, with a token, printing no secret", async () => {
    const out = join(dir, "credentials.json");
    const r = await credentials(out);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const written = JSON.parse(readFileSync(out, "utf8"));
    expect(Object.keys(written).sort()).toEqual(["AccessKeyId", "ExpiredTime", "SecretAccessKey", "SessionToken"]);
    expect(written).toMatchObject(creds);
    expect(Date.parse(written.ExpiredTime)).toBeGreaterThan(Date.now());
    expect(r.stdout).toContain(`credentials of role ${ROLE} written to ${out}`);
    for (const secret of [creds.SecretAccessKey, creds.SessionToken, creds.AccessKeyId])
      expect(r.stdout + r.stderr).not.toContain(secret);
    expect(metadata.log.filter((l) => l.path.includes("security_credentials") && !l.withToken)).toEqual([]);
    // Atomic: nothing but the file is left in its directory.
    expect(readdirSync(dir).filter((f) => f.includes("credentials"))).toEqual(["credentials.json"]);
  });

  it("reads the role from the host settings, as the unit runs it", async () => {
    const conf = join(dir, "host.conf");
    writeFileSync(conf, `APP_NAME='todo-api'\nFILES_ROLE='${ROLE}'\n`);
    const r = await credentials(join(dir, "from-host-conf.json"), { FILES_ROLE: "", TODO_HOST_CONF: conf });
    expect(r.status).toBe(0);
  });

  it("retries a busy metadata service, and replaces the file in place on the next run", async () => {
    const out = join(dir, "retried.json");
    writeFileSync(out, "{}\n");
    metadata.failNext(2);
    const r = await credentials(out);
    expect(r.status).toBe(0);
    expect(JSON.parse(readFileSync(out, "utf8")).AccessKeyId).toBe(creds.AccessKeyId);
  });

  it("fails with the reason, and leaves the last good file, when the role has no credentials", async () => {
    const out = join(dir, "kept.json");
    writeFileSync(out, '{"AccessKeyId":"previous"}\n');
    const r = await credentials(out, { FILES_ROLE: "another-role", FILES_CREDENTIALS_ATTEMPTS: "2" });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("files-credentials failed: metadata service answered 404 for role another-role\n");
    expect(readFileSync(out, "utf8")).toContain("previous");
  });

  it("refuses to run without a files role", async () => {
    const r = await credentials(join(dir, "none.json"), { FILES_ROLE: "" });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("files are not configured on this server (FILES_ROLE missing");
  });

  it.skipIf(!isRoot)(
    "the file is 0640, owned by root and the API's group: the API's user reads it, another user cannot",
    async () => {
      const sub = join(dir, "run");
      mkdirSync(sub, { mode: 0o755 });
      chmodSync(dir, 0o755); // mkdtemp's 0700 would keep every other user out before the file's mode does
      const out = join(sub, "credentials.json");
      // As the unit runs it: root, with the API's group (here nogroup stands for it), UMask=0027.
      const r = await credentials(out, {}, { uid: 0, gid: NOBODY });
      expect(r.status).toBe(0);
      const st = statSync(out);
      expect(st.mode & 0o777).toBe(0o640);
      expect(st.uid).toBe(0);
      expect(st.gid).toBe(NOBODY);
      const read = (uid: number, gid: number) =>
        run(process.execPath, ["-e", `require("fs").readFileSync(${JSON.stringify(out)})`], { uid, gid });
      expect(read(NOBODY, NOBODY).status).toBe(0); // a member of the group
      const other = read(NOBODY, 65533);
      expect(other.status).not.toBe(0);
      expect(other.stderr).toContain("EACCES");
    },
  );
});

describe("the credentials unit", () => {
  const options = { ...variants["rds, no domain"]!, filesCredentials: { roleName: ROLE } };
  const files = new Map(serverFiles(options).map((f) => [f.path, f]));
  const unit = files.get("/etc/systemd/system/todo-api-files-credentials.service")!.content;
  const app = files.get("/etc/systemd/system/todo-api@.service")!.content;

  it("exists only with a files role, named in the host settings and read back from them", () => {
    const without = serverFiles(variants["rds, no domain"]!).map((f) => f.path);
    expect(without.filter((p) => p.includes("files-credentials"))).toEqual([]);
    expect(renderHostConf(parseCloudInitOptions(variants["rds, no domain"]!))).not.toContain("FILES_ROLE");
    const conf = files.get("/etc/todo-host.conf")!.content;
    expect(conf).toContain(`FILES_ROLE='${ROLE}'`);
    expect(optionsFromHostConf(conf).filesCredentials).toEqual({ roleName: ROLE });
    expect(files.get("/usr/local/lib/todo/files-credentials.mjs")).toBeDefined();
    expect(files.get("/etc/systemd/system/todo-api-files-credentials.timer")!.content).toContain(
      "OnUnitActiveSec=10min",
    );
  });

  it("may reach the metadata address and nothing else, while the API's unit still cannot", () => {
    expect(unit.split("\n")).toEqual(expect.arrayContaining(["IPAddressDeny=any", "IPAddressAllow=100.96.0.96"]));
    expect(app.split("\n")).toContain("IPAddressDeny=100.96.0.96 link-local");
    expect(app).not.toMatch(/^IPAddressAllow=/m);
    // Root without capabilities, the API's group, the file in its own runtime directory.
    for (const line of [
      "User=root",
      "Group=todo-api",
      "CapabilityBoundingSet=",
      "UMask=0027",
      "RuntimeDirectory=todo-api-files",
      "RuntimeDirectoryPreserve=yes",
      "OnFailure=todo-api-alert@%n.service",
      "ExecStart=/usr/local/bin/node /usr/local/lib/todo/files-credentials.mjs /run/todo-api-files/credentials.json",
    ])
      expect(unit.split("\n")).toContain(line);
  });

  const systemdAnalyze = requireTool("systemd-analyze");
  it.skipIf(systemdAnalyze.missing)("passes systemd-analyze verify, and keeps a low exposure", () => {
    const unitDir = mkdtempSync(join(dir, "units-"));
    for (const name of ["todo-api-files-credentials.service", "todo-api-files-credentials.timer"]) {
      const content = files
        .get(`/etc/systemd/system/${name}`)!
        .content.replaceAll("/usr/local/bin/node", process.execPath);
      writeFileSync(join(unitDir, name), content);
    }
    const service = join(unitDir, "todo-api-files-credentials.service");
    const verify = run("systemd-analyze", [
      "verify",
      "--man=no",
      service,
      join(unitDir, "todo-api-files-credentials.timer"),
    ]);
    // The OnFailure= handler and the API's group exist only on a server.
    expect(verify.stderr.split("\n").filter((l) => l && !/todo-api-alert@|todo-api/.test(l))).toEqual([]);
    const text = run("systemd-analyze", ["security", "--offline=true", "--no-pager", service]).stdout;
    const overall = Number(/Overall exposure level for \S+: ([\d.]+)/.exec(text)?.[1]);
    console.log(`systemd-analyze security todo-api-files-credentials.service: ${overall}`);
    // Measured 1.5 ("OK") with this systemd: root without capabilities, one address to reach.
    expect(overall).toBeLessThanOrEqual(1.5);
  });
});

describe("a server of the last kit, upgraded by a release", () => {
  const root = mkdtempSync(join(dir, "root-"));
  const manifest = "/var/lib/todo-setup/installed-files";
  const unitPaths = [
    "/etc/systemd/system/todo-api-files-credentials.service",
    "/etc/systemd/system/todo-api-files-credentials.timer",
    "/usr/local/lib/todo/files-credentials.mjs",
  ];

  it("gets the credentials unit when the deploy's host settings name a files role, and loses it when they stop", () => {
    const before = variants["rds, no domain"]!;
    expect(installServerFiles(serverFiles(before), root, manifest).changed.length).toBeGreaterThan(0);
    // The deploy step writes the new host settings, then the release's kit converges from them.
    const conf = renderHostConf(parseCloudInitOptions({ ...before, filesCredentials: { roleName: ROLE } }));
    const upgraded = installServerFiles(serverFiles(optionsFromHostConf(conf)), root, manifest);
    expect(upgraded.changed.sort()).toEqual(["/etc/todo-host.conf", ...unitPaths].sort());
    for (const p of unitPaths) expect(existsSync(join(root, p))).toBe(true);
    const off = installServerFiles(serverFiles(before), root, manifest);
    expect(off.removed.sort()).toEqual([...unitPaths].sort());
  });
});

describe("todo-setup files, once files are no longer configured", () => {
  const work = mkdtempSync(join(dir, "setup-"));
  const envFile = join(work, "env");
  const setupEnv = {
    PATH: process.env.PATH,
    ...SHELL_LIBRARY_ENV,
    TODO_HOST_CONF: join(work, "host.conf"),
    TODO_ENV_FILE: envFile,
    TODO_ENV_OWNER: "",
    TODO_RELEASE_CMD: join(work, "todo-release"),
    // A lock of the test's own: /run is the server's (root's), not a developer's.
    TODO_LOCK_FILE: join(work, "todo-release.lock"),
    TODO_NO_WAIT: "1",
  };
  const files = renderedFiles(variants["rds, no domain"]!);
  for (const name of ["todo-setup", "todo-release"]) {
    writeFileSync(join(work, name), files.get(`/usr/local/sbin/${name}`)!.content);
    chmodSync(join(work, name), 0o755);
  }
  // The host settings of a server without a files role (the deploy that turned files off wrote them).
  writeFileSync(join(work, "host.conf"), files.get("/etc/todo-host.conf")!.content);
  const setupFiles = () => run("bash", [join(work, "todo-setup"), "files"], { env: setupEnv });

  it("turns the API's TOS store off when it used this unit's credentials file", () => {
    writeFileSync(
      envFile,
      "NODE_ENV=production\nFILES_STORAGE=tos\nFILES_TOS_BUCKET=b-files\nFILES_CREDENTIALS_FILE=/run/todo-api-files/credentials.json\n",
    );
    const r = setupFiles();
    expect(r.status, r.stderr).toBe(0);
    const text = readFileSync(envFile, "utf8");
    expect(text).toContain("FILES_STORAGE=off\n");
    expect(text).not.toContain("FILES_STORAGE=tos");
    expect(text).toContain("NODE_ENV=production\n");
  });

  it("leaves settings made by hand alone", () => {
    const handMade = "FILES_STORAGE=tos\nFILES_CREDENTIALS_FILE=/etc/my-tos/credentials.json\n";
    writeFileSync(envFile, handMade);
    expect(setupFiles().status).toBe(0);
    expect(readFileSync(envFile, "utf8")).toBe(handMade);
  });
});
