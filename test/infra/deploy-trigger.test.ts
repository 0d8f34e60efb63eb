import { afterAll, describe, expect, it } from "vitest";
import type { CloudInitOptions } from "../../cloud-init/options.js";
import { USER_DATA_BUDGET_BYTES } from "../../contract/server.js";
import {
  HTTPS,
  RDS,
  baseEnvironment,
  cleanupSynthDirs,
  infra,
  resources,
  synth,
  type TfJson,
} from "./synth-helpers.js";

/**
 * Issue #12: everything the server is told reaches it through the deploy step, whose trigger
 * carries a hash of those settings; the user data is first boot only (ignored after creation) and
 * small in every configuration.
 */
afterAll(() => cleanupSynthDirs());

const base: CloudInitOptions = { environment: "prod", databaseMode: "local" };
const release = { path: "/tmp/todo-api-0123456789ab.tar.gz", hash: "0123456789ab" };
const offsite = {
  bucket: "todo-api-prod-backups-01234567",
  region: "cn-beijing",
  endpoint: "https://tos-s3-cn-beijing.volces.com",
  roleName: "todo-api-prod-backup",
};

async function triggersOf(
  serverOptions: CloudInitOptions,
  extra: { settings?: Record<string, string>; release?: typeof release; instanceId?: string } = {},
) {
  await infra();
  const { deploymentTriggers } = await import("../../infra/constructs/app-deployment.js");
  return deploymentTriggers({
    release: extra.release ?? release,
    instanceId: extra.instanceId ?? "i-1",
    serverOptions,
    settings: extra.settings,
  });
}

describe("deploy trigger", () => {
  it("is the same for the same release, instance and settings (an unchanged tree redeploys nothing)", async () => {
    expect(await triggersOf(base)).toEqual(await triggersOf({ ...base }));
  });

  const changes: [string, CloudInitOptions][] = [
    ["a domain (and ACME e-mail) added", { ...base, domain: "api.example.com", acmeEmail: "ops@example.com" }],
    ["the ACME e-mail", { ...base, domain: "api.example.com", acmeEmail: "other@example.com" }],
    ["the database mode", { ...base, databaseMode: "rds" }],
    ["the pinned Node.js version", { ...base, nodeVersion: "24.99.1", nodeSha256: { x64: "b".repeat(64) } }],
    ["the Node.js mirror", { ...base, nodeMirror: "https://npmmirror.com/mirrors/node" }],
    ["the backup target", { ...base, offsiteBackup: offsite }],
    ["the backup bucket", { ...base, offsiteBackup: { ...offsite, bucket: "another-bucket-name" } }],
    ["the app ports", { ...base, appPorts: [3001, 3002, 3003] }],
    ["the memory limit", { ...base, appMemoryMaxMiB: 384 }],
    ["the local backup retention", { ...base, backupRetentionDays: 14 }],
    ["the number of kept releases", { ...base, keepReleases: 3 }],
  ];
  it.each(changes)("changes when %s changes, in the host settings hash only", async (_what, changed) => {
    const before = await triggersOf(changed === changes[1]![1] ? changes[0]![1] : base);
    const after = await triggersOf(changed);
    expect(after.host_settings_sha256).not.toBe(before.host_settings_sha256);
    expect({ ...after, host_settings_sha256: "" }).toEqual({ ...before, host_settings_sha256: "" });
  });

  it("changes with the instance type (a resize: the kit re-derives the memory plan), in its own value", async () => {
    await infra();
    const { deploymentTriggers } = await import("../../infra/constructs/app-deployment.js");
    const of = (instanceType: string) =>
      deploymentTriggers({ release, instanceId: "i-1", instanceType, serverOptions: base });
    expect(of("ecs.g3i.xlarge")).toEqual({ ...of("ecs.g3i.large"), instance_type: "ecs.g3i.xlarge" });
  });

  it("changes with the release, the instance and the env settings, each in its own value", async () => {
    const a = await triggersOf(base, { settings: { TRUSTED_PROXIES: "127.0.0.1,172.16.3.0/24" } });
    const newRelease = await triggersOf(base, {
      settings: { TRUSTED_PROXIES: "127.0.0.1,172.16.3.0/24" },
      release: { ...release, hash: "fedcba987654" },
    });
    expect(newRelease).toEqual({ ...a, release_hash: "fedcba987654" });
    const newInstance = await triggersOf(base, {
      settings: { TRUSTED_PROXIES: "127.0.0.1,172.16.3.0/24" },
      instanceId: "i-2",
    });
    expect(newInstance).toEqual({ ...a, instance_id: "i-2" });
    const newSettings = await triggersOf(base, { settings: { TRUSTED_PROXIES: "127.0.0.1,172.16.4.0/24" } });
    expect(newSettings.env_settings_sha256).not.toBe(a.env_settings_sha256);
    expect({ ...newSettings, env_settings_sha256: "" }).toEqual({ ...a, env_settings_sha256: "" });
  });

  it("in a synthesized stack: adding a domain changes the deploy trigger; the instance ignores its user data", async () => {
    const stackOf = async (env: Record<string, unknown>) =>
      (await synth({ environments: { prod: env } })).stacks["todo-api-prod"]!;
    const deploy = (tf: TfJson) => resources(tf, "null_resource")[0]!;
    const before = await stackOf(baseEnvironment());
    const after = await stackOf(baseEnvironment({ https: HTTPS }));
    expect(deploy(after).triggers.host_settings_sha256).not.toBe(deploy(before).triggers.host_settings_sha256);
    expect(deploy(after).triggers.release_hash).toBe(deploy(before).triggers.release_hash);
    const instance = resources(after, "volcengine_ecs_instance")[0]!;
    expect(instance.lifecycle.ignore_changes).toContain("user_data");
    // The new settings travel in the deploy step's first script.
    expect(deploy(after).provisioner[1]["remote-exec"].inline).toContain("DOMAIN='api.example.com'");
  });
});

describe("user data size (≤ 4 KB in every configuration)", () => {
  const userDataSizes = (tf: TfJson) =>
    resources(tf, "volcengine_ecs_instance")
      .filter((r) => r.user_data)
      .map((r) => Buffer.byteLength(Buffer.from(r.user_data as string, "base64").toString("utf8")));
  const configurations: [string, Record<string, unknown>][] = [
    ["single, local database", baseEnvironment()],
    [
      "single, rds + domain + backups + alerts",
      baseEnvironment({
        database: RDS,
        https: HTTPS,
        backups: { retentionDays: 60 },
        alerts: { email: "ops@example.com", webhook: true },
      }),
    ],
    [
      "single, local + domain + backups + alerts",
      baseEnvironment({ https: HTTPS, alerts: { email: "ops@example.com" } }),
    ],
    [
      "cluster servers (3, certificate at the load balancer)",
      baseEnvironment({ topology: "cluster", database: RDS, cluster: { servers: 3 } }),
    ],
  ];
  it.each(configurations)("%s", async (name, env) => {
    const tf = (await synth({ environments: { prod: env } })).stacks["todo-api-prod"]!;
    const sizes = userDataSizes(tf);
    expect(sizes.length).toBeGreaterThan(0);
    process.stdout.write(`user data, ${name}: ${sizes.join(", ")} bytes (budget ${USER_DATA_BUDGET_BYTES})\n`);
    for (const size of sizes) expect(size).toBeLessThanOrEqual(USER_DATA_BUDGET_BYTES);
  });
});
