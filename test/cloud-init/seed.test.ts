/**
 * todo-seed (cloud-init/lib/seed.mjs), run as its timer would run it (`node seed.mjs`), against the
 * stand-in's Auto Scaling and ECS services over HTTP, with the ECS metadata stand-in handing out
 * the seed's role credentials (token mode enforced), a recording booter, and one local HTTP server
 * answering /readyz for the held instances by private address. Under both answers to when a held
 * instance joins the CLB server group.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  type Credentials,
  type MetadataStandIn,
  startMetadataStandIn,
} from "../../local-cloud/services/ecs/metadata.js";
import {
  as,
  call,
  close,
  cloud,
  group,
  hook,
  instances,
  later,
  ok,
  servers,
  start,
  waiting,
  world,
} from "../local-cloud/auto-scaling-support.js";
import { type ReadyServers, type Relay, runSeed, startReadyServers, startRelay } from "./seed-support.js";

const SEED_ROLE = "todo-api-prod-backup";
const APP_ROLE = "todo-api-prod-files";
const creds: Credentials = {
  AccessKeyId: "AKTPSEEDKEY",
  SecretAccessKey: "seed-secret-c2VlZHNlY3JldA",
  SessionToken: "seed-session-token-dG9rZW4",
};
const trust = JSON.stringify({
  Statement: [{ Effect: "Allow", Action: ["sts:AssumeRole"], Principal: { Service: ["ecs"] } }],
});
const dir = mkdtempSync(join(tmpdir(), "todo-seed-"));
let metadata: MetadataStandIn;
let readyz: ReadyServers;
let relay: Relay;

beforeAll(async () => {
  metadata = await startMetadataStandIn(SEED_ROLE, () => creds, { tokens: "enforced" });
  readyz = await startReadyServers();
  relay = await startRelay(() => cloud.url);
});
afterAll(async () => {
  await Promise.all([metadata.close(), readyz.close(), relay.close()]);
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  readyz.ready.clear();
  relay.calls.length = 0;
  relay.deny.clear();
  relay.answer.clear();
  metadata.failNext(0);
});
afterEach(close);

let lockCount = 0;
const env = (extra: NodeJS.ProcessEnv = {}) => ({
  TODO_HOST_CONF: join(dir, "no-such-host.conf"),
  TODO_METADATA_URL: metadata.url,
  SEED_ROLE,
  SEED_APP_ROLE: APP_ROLE,
  SEED_REGION: "cn-beijing",
  SEED_ENDPOINT: relay.url,
  SEED_READY_URL: `${readyz.url}/{address}/readyz`,
  SEED_READY_WAIT_MS: "400",
  SEED_READY_INTERVAL_MS: "50",
  SEED_LOCK: join(dir, `seed-${++lockCount}.lock`),
  ...extra,
});
const actions = () => relay.calls.map((c) => c.action);
const writes = () => actions().filter((a) => a === "AssociateInstancesIamRole" || a === "CompleteLifecycleActivity");
const rolesOf = async (id: string) =>
  ok(await call("ecs", "DescribeInstancesIamRoles", { InstanceIds: [id] })).InstancesIamRoles[0].RoleNames;
const addressOf = async (id: string) =>
  ok(await call("ecs", "DescribeInstances", { InstanceIds: [id] })).Instances[0].NetworkInterfaces[0]
    .PrimaryIpAddress as string;

/** A group of one instance, held at its SCALE_OUT hook (REJECT after 900 s); the app role exists. */
async function heldInstance(answer: "after-hook" | "before-hook") {
  await start({ scalingHookServerGroup: answer });
  const w = await world();
  ok(await call("iam", "CreateRole", { RoleName: APP_ROLE, TrustPolicyDocument: trust }));
  const { groupId } = await group(w, { DesireInstanceNumber: 1 });
  await hook(groupId, "SCALE_OUT", "REJECT", 900);
  ok(await as("EnableScalingGroup", { ScalingGroupId: groupId }));
  later(); // ECS: RUNNING; the hook holds it
  const [held] = await instances(groupId);
  expect(held!.Status).toBe("Pending:Wait");
  const id = held!.InstanceId as string;
  return { w, groupId, id, address: await addressOf(id) };
}

describe.each(["after-hook", "before-hook"] as const)(
  "todo-seed (a held instance joins the server group %s)",
  (answer) => {
    it("associates the app role, waits for /readyz on the private address, completes the hook: the instance serves", async () => {
      const { w, groupId, id, address } = await heldInstance(answer);
      expect((await servers(w.serverGroupId)).map((s) => s.InstanceId)).toEqual(answer === "before-hook" ? [id] : []);
      readyz.ready.add(address);
      const r = await runSeed(env({ SEED_GROUP_ID: groupId }));
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(`${id}: role ${APP_ROLE} associated`);
      expect(r.stdout).toContain(`${id}: ready at ${address}; lifecycle activity`);
      expect(await rolesOf(id)).toEqual([APP_ROLE]);
      expect((await instances(groupId)).map((i) => [i.InstanceId, i.Status])).toEqual([[id, "InService"]]);
      expect((await servers(w.serverGroupId)).map((s) => [s.InstanceId, s.Ip, s.Port])).toEqual([[id, address, 80]]);
      expect(readyz.asked).toContain(address);
      expect(actions()).toEqual([
        "DescribeScalingInstances",
        "DescribeInstancesIamRoles",
        "DescribeInstances",
        "AssociateInstancesIamRole",
        "DescribeLifecycleActivities",
        "CompleteLifecycleActivity",
      ]);
      // Every call signed with the role's STS credentials, the token in X-Security-Token; none printed.
      for (const c of relay.calls) {
        expect(c.authorization).toMatch(
          new RegExp(
            `^HMAC-SHA256 Credential=${creds.AccessKeyId}/\\d{8}/cn-beijing/(auto_scaling|ecs)/request, SignedHeaders=content-type;host;x-content-sha256;x-date;x-security-token, Signature=[0-9a-f]{64}$`,
          ),
        );
        expect(c.securityToken).toBe(creds.SessionToken);
      }
      for (const secret of [creds.SecretAccessKey, creds.SessionToken, creds.AccessKeyId])
        expect(r.stdout + r.stderr).not.toContain(secret);
    });

    it("leaves an instance that never gets ready at the hook, whose timeout rejects it", async () => {
      const { w, groupId, id, address } = await heldInstance(answer);
      const r = await runSeed(env({ SEED_GROUP_ID: groupId }));
      expect(r.status).toBe(0); // a server still booting is not the seed's failure
      expect(r.stderr).toContain(`todo-seed: ${id}: not ready: GET /readyz on ${address} gave no 2xx within 400 ms`);
      expect(readyz.asked.filter((a) => a === address).length).toBeGreaterThan(1);
      expect(writes()).toEqual(["AssociateInstancesIamRole"]);
      expect((await instances(groupId)).map((i) => i.Status)).toEqual(["Pending:Wait"]);
      expect(await waiting(id)).toHaveLength(1);
      // The next pass finds the role there: it only waits again.
      const next = await runSeed(env({ SEED_GROUP_ID: groupId }));
      expect(next.status).toBe(0);
      expect(next.stdout).toBe("");
      expect(writes()).toEqual(["AssociateInstancesIamRole"]);
      later(900_000); // the hook's timeout: REJECT releases it; the group launches another
      const after = await instances(groupId);
      expect(after.map((i) => i.InstanceId)).not.toContain(id);
      expect(after).toHaveLength(1);
      expect((await servers(w.serverGroupId)).map((s) => s.InstanceId)).not.toContain(id);
    });

    it("does nothing twice: a second pass after the first, and two passes at once", async () => {
      const { groupId, id, address } = await heldInstance(answer);
      readyz.ready.add(address);
      const lock = join(dir, `twice-${answer}.lock`);
      const [a, b] = await Promise.all([
        runSeed(env({ SEED_GROUP_ID: groupId, SEED_LOCK: lock })),
        runSeed(env({ SEED_GROUP_ID: groupId, SEED_LOCK: lock })),
      ]);
      expect([a.status, b.status]).toEqual([0, 0]);
      expect(a.stdout + b.stdout).toContain(`${id}: ready at ${address}`);
      expect(writes()).toEqual(["AssociateInstancesIamRole", "CompleteLifecycleActivity"]);
      const again = await runSeed(env({ SEED_GROUP_ID: groupId, SEED_LOCK: lock }));
      expect(again).toEqual({ status: 0, stdout: "", stderr: "" });
      expect(writes()).toEqual(["AssociateInstancesIamRole", "CompleteLifecycleActivity"]);
      expect((await instances(groupId)).map((i) => i.Status)).toEqual(["InService"]);
    });

    it("reports a refused call on stderr, exits 1, and leaves the instance at the hook", async () => {
      const { groupId, id, address } = await heldInstance(answer);
      readyz.ready.add(address);
      relay.deny.add("CompleteLifecycleActivity");
      const denied = await runSeed(env({ SEED_GROUP_ID: groupId }));
      expect(denied.status).toBe(1);
      expect(denied.stderr).toContain(
        `todo-seed: ${id}: left at the hook: CompleteLifecycleActivity refused: HTTP 403 AccessDenied: User is not authorized`,
      );
      expect((await instances(groupId)).map((i) => i.Status)).toEqual(["Pending:Wait"]);
      // The stand-in's own refusal: a role that does not exist is never associated, nothing is completed.
      relay.deny.clear();
      relay.calls.length = 0;
      ok(await call("ecs", "DisassociateInstancesIamRole", { IamRoleName: APP_ROLE, InstanceIds: [id] }));
      const missing = await runSeed(env({ SEED_GROUP_ID: groupId, SEED_APP_ROLE: "todo-api-prod-nosuchrole" }));
      expect(missing.status).toBe(1);
      expect(missing.stderr).toMatch(
        new RegExp(`todo-seed: ${id}: left at the hook: AssociateInstancesIamRole refused: HTTP 404 RoleNotExist`),
      );
      expect(writes()).toEqual(["AssociateInstancesIamRole"]);
      expect(await waiting(id)).toHaveLength(1);
      // ECS's other way to refuse: HTTP 200, the instance's error in OperationDetails.
      relay.calls.length = 0;
      const error = { Code: "OperationDenied.RoleNotAllowed", Message: "the role cannot be associated" };
      relay.answer.set("AssociateInstancesIamRole", { OperationDetails: [{ InstanceId: id, Error: error }] });
      const partly = await runSeed(env({ SEED_GROUP_ID: groupId }));
      expect(partly.status).toBe(1);
      expect(partly.stderr).toContain(
        `todo-seed: ${id}: left at the hook: AssociateInstancesIamRole refused for the instance: ${error.Code}: ${error.Message}`,
      );
      expect(writes()).toEqual(["AssociateInstancesIamRole"]);
      expect(await waiting(id)).toHaveLength(1);
      for (const secret of [creds.SecretAccessKey, creds.SessionToken])
        expect(denied.stderr + missing.stderr).not.toContain(secret);
    });
  },
);

describe("todo-seed", () => {
  it("leaves alone an instance that holds another role", async () => {
    const { groupId, id, address } = await heldInstance("after-hook");
    ok(await call("iam", "CreateRole", { RoleName: "someone-else", TrustPolicyDocument: trust }));
    ok(await call("ecs", "AssociateInstancesIamRole", { IamRoleName: "someone-else", InstanceIds: [id] }));
    readyz.ready.add(address);
    const r = await runSeed(env({ SEED_GROUP_ID: groupId }));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${id}: left at the hook: it holds role someone-else, not ${APP_ROLE}`);
    expect(writes()).toEqual([]);
    expect((await instances(groupId)).map((i) => i.Status)).toEqual(["Pending:Wait"]);
  });

  it("does nothing while another pass holds the lock", async () => {
    const { groupId } = await heldInstance("after-hook");
    const lock = join(dir, "held.lock");
    const holder = spawn("flock", [lock, "-c", "echo locked; exec sleep 30"], { detached: true });
    try {
      await new Promise((resolve) => holder.stdout.once("data", resolve));
      const r = await runSeed(env({ SEED_GROUP_ID: groupId, SEED_LOCK: lock }));
      expect(r).toEqual({
        status: 0,
        stdout: "",
        stderr: `todo-seed: another pass holds ${lock}; this one does nothing\n`,
      });
      expect(relay.calls).toEqual([]);
    } finally {
      if (holder.pid) process.kill(-holder.pid, "SIGTERM");
    }
  });

  it("makes no call without the role's credentials, and says why", async () => {
    const { groupId } = await heldInstance("after-hook");
    metadata.failNext(10);
    const r = await runSeed(env({ SEED_GROUP_ID: groupId }));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("todo-seed: error: metadata service answered 500 for a token");
    expect(relay.calls).toEqual([]);
  });

  it("reads its settings from the host settings file, and names the one that is missing", async () => {
    const { groupId, id, address } = await heldInstance("after-hook");
    readyz.ready.add(address);
    const conf = join(dir, "todo-host.conf");
    const e = env();
    const lines = ["SEED_APP_ROLE", "SEED_REGION", "SEED_ENDPOINT", "SEED_READY_URL", "SEED_LOCK"].map(
      (k) => `${k}='${e[k as keyof typeof e]}'`,
    );
    writeFileSync(conf, [`SEED_GROUP_ID='${groupId}'`, `OFFSITE_ROLE='${SEED_ROLE}'`, ...lines, ""].join("\n"));
    const base = { TODO_HOST_CONF: conf, TODO_METADATA_URL: metadata.url };
    const r = await runSeed(base);
    expect(r.stdout).toContain(`${id}: ready at ${address}`);
    expect(r.status).toBe(0);
    const withoutRegion = lines.filter((l) => !l.startsWith("SEED_REGION"));
    writeFileSync(conf, [`SEED_GROUP_ID='${groupId}'`, `OFFSITE_ROLE='${SEED_ROLE}'`, ...withoutRegion, ""].join("\n"));
    const missing = await runSeed(base);
    expect(missing).toMatchObject({ status: 1, stdout: "" });
    expect(missing.stderr).toContain("SEED_REGION missing in the host settings");
  });
});
