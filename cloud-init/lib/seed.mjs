// todo-seed — admits the scaling group's new servers (docs/auto-scaling.md, "Booting"). One run
// is one pass; todo-seed.timer runs it every 30 s on the seed (the first fixed app server).
//
//   node seed.mjs
//
// A pass, with the seed's instance-role credentials from the ECS metadata service:
//  1. lists the group's instances held by a SCALE_OUT hook (DescribeScalingInstances,
//     Status=Pending:Wait), their roles (DescribeInstancesIamRoles) and private addresses
//     (DescribeInstances);
//  2. for each, at the same time: associates the app servers' role if the instance has no role
//     (AssociateInstancesIamRole; an instance holding another role is left alone), waits, bounded,
//     for a 2xx from GET /readyz on its private address, and completes its waiting lifecycle
//     activities with CONTINUE (DescribeLifecycleActivities, CompleteLifecycleActivity).
// Anything that fails for an instance leaves it as it is, with the reason on stderr: the hook's
// timeout then rejects it and the group launches another. The seed never logs in to an instance
// and holds no SSH key. Nothing secret is printed: errors carry actions, codes and messages only.
//
// Safe to run twice at once: the pass holds an exclusive flock(1) on SEED_LOCK; a second pass that
// finds it held does nothing and says so. Safe to run twice in a row: an instance with the role is
// not associated again, and a completed instance is no longer Pending:Wait.
//
// Exit status: 0 when every held instance was admitted or is not ready yet (a booting server is
// normal), 1 when a call was refused or failed (or the settings are missing).
//
// Settings come from the environment, else from the host settings file (/etc/todo-host.conf, or
// TODO_HOST_CONF): SEED_GROUP_ID (the scaling group), SEED_APP_ROLE (the role to associate),
// SEED_REGION, SEED_ENDPOINT (the OpenAPI endpoint, e.g. https://open.volcengineapi.com),
// SEED_ROLE (the seed's own role; default OFFSITE_ROLE, the backup role the seed holds);
// SEED_READY_URL (default http://{address}/readyz), SEED_READY_WAIT_MS (default 20000),
// SEED_READY_INTERVAL_MS (default 2000), SEED_LOCK (default /run/todo-seed.lock); for tests
// TODO_METADATA_URL (default http://100.96.0.96).
import { spawnSync } from "node:child_process";
import { realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { hostSettings, roleCredentials } from "./role-client.mjs";
import { callAction } from "./volc-openapi.mjs";

const AUTO_SCALING = { service: "auto_scaling", version: "2020-01-01" };
const ECS = { service: "ecs", version: "2020-04-01" };
const HELD = "Pending:Wait";
const PAGE = 50;

export function settings(env = process.env) {
  const get = hostSettings(env);
  const s = {
    groupId: get("SEED_GROUP_ID"),
    appRole: get("SEED_APP_ROLE"),
    region: get("SEED_REGION"),
    endpoint: get("SEED_ENDPOINT"),
    role: get("SEED_ROLE", get("OFFSITE_ROLE")),
    readyUrl: get("SEED_READY_URL", "http://{address}/readyz"),
    readyWaitMs: Number(get("SEED_READY_WAIT_MS", "20000")),
    readyIntervalMs: Number(get("SEED_READY_INTERVAL_MS", "2000")),
    lock: get("SEED_LOCK", "/run/todo-seed.lock"),
    metadata: get("TODO_METADATA_URL", "http://100.96.0.96").replace(/\/+$/, ""),
  };
  const names = {
    groupId: "SEED_GROUP_ID",
    appRole: "SEED_APP_ROLE",
    region: "SEED_REGION",
    endpoint: "SEED_ENDPOINT",
  };
  for (const [k, name] of Object.entries({ ...names, role: "SEED_ROLE (or OFFSITE_ROLE)" }))
    if (!s[k]) throw new Error(`the seed is not configured on this server (${name} missing in the host settings)`);
  if (!s.readyUrl.includes("{address}")) throw new Error("SEED_READY_URL must contain {address}");
  return s;
}

/** Every page of a Describe* action's list. */
async function all(api, action, params, list) {
  const found = [];
  for (let page = 1; ; page++) {
    const r = await api(AUTO_SCALING, action, { ...params, PageNumber: page, PageSize: PAGE });
    const items = r[list] ?? [];
    found.push(...items);
    if (items.length < PAGE || found.length >= Number(r.TotalCount ?? 0)) return found;
  }
}

/** True once GET /readyz answers 2xx within the wait; false when it never did. */
async function ready(s, address) {
  const url = s.readyUrl.replace("{address}", address);
  const until = Date.now() + s.readyWaitMs;
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(Math.max(500, Math.min(5000, s.readyWaitMs))) });
      await res.arrayBuffer();
      if (res.ok) return true;
    } catch {}
    if (Date.now() + s.readyIntervalMs > until) return false;
    await new Promise((r) => setTimeout(r, s.readyIntervalMs));
  }
}

/** What the pass does for one held instance; throws (with the reason) where it stops. */
async function admit(s, api, instance, roles, address, say) {
  const id = instance.InstanceId;
  if (!address) throw new Error("ECS reports no private address for it");
  if (roles.length > 0 && !roles.includes(s.appRole))
    throw new Error(`it holds role ${roles.join(", ")}, not ${s.appRole}: not the group's server as the seed knows it`);
  if (roles.length === 0) {
    // No ClientToken: a pass that failed is retried by the next one, which reads the roles first.
    const r = await api(ECS, "AssociateInstancesIamRole", { IamRoleName: s.appRole, InstanceIds: [id] });
    // ECS may accept the call and refuse it for one instance (OperationDetails[].Error, HTTP 200).
    const refused = (r.OperationDetails ?? []).find((d) => d.InstanceId === id && d.Error?.Code);
    if (refused)
      throw new Error(
        `AssociateInstancesIamRole refused for the instance: ${refused.Error.Code}: ${refused.Error.Message ?? ""}`,
      );
    say(`${id}: role ${s.appRole} associated`);
  }
  if (!(await ready(s, address)))
    return {
      left: `not ready: GET /readyz on ${address} gave no 2xx within ${s.readyWaitMs} ms; a later pass checks again`,
    };
  const waiting = await all(
    api,
    "DescribeLifecycleActivities",
    { InstanceId: id, LifecycleActivityStatus: "Waiting" },
    "LifecycleActivities",
  );
  if (waiting.length === 0)
    return { left: "ready, but no lifecycle activity waits for it (completed or timed out meanwhile)" };
  for (const la of waiting) {
    await api(AUTO_SCALING, "CompleteLifecycleActivity", {
      LifecycleActivityId: la.LifecycleActivityId,
      LifecycleActivityPolicy: "CONTINUE",
    });
  }
  say(
    `${id}: ready at ${address}; lifecycle activity ${waiting.map((la) => la.LifecycleActivityId).join(", ")} completed with CONTINUE`,
  );
  return {};
}

/** One pass; resolves to the exit status. */
export async function pass(s, { say = console.log, warn = console.error } = {}) {
  const creds = await roleCredentials({ metadata: s.metadata, role: s.role });
  const api = ({ service, version }, action, params) =>
    callAction({ endpoint: s.endpoint, region: s.region, creds, service, version, action, params });
  const held = await all(
    api,
    "DescribeScalingInstances",
    { ScalingGroupId: s.groupId, Status: HELD },
    "ScalingInstances",
  );
  if (held.length === 0) return 0;
  const ids = held.map((i) => i.InstanceId);
  const roles = new Map();
  const addresses = new Map();
  // ECS takes at most 100 ids a call.
  for (let n = 0; n < ids.length; n += 100) {
    const batch = ids.slice(n, n + 100);
    const r = await api(ECS, "DescribeInstancesIamRoles", { InstanceIds: batch, MaxResults: 100 });
    for (const x of r.InstancesIamRoles ?? []) roles.set(x.InstanceId, x.RoleNames ?? []);
    const d = await api(ECS, "DescribeInstances", { InstanceIds: batch, MaxResults: 100 });
    for (const i of d.Instances ?? []) {
      const nics = i.NetworkInterfaces ?? [];
      const primary = nics.find((n) => n.Type === "primary") ?? nics[0];
      addresses.set(i.InstanceId, primary?.PrimaryIpAddress);
    }
  }
  let status = 0;
  await Promise.all(
    held.map(async (i) => {
      const id = i.InstanceId;
      try {
        const r = await admit(s, api, i, roles.get(id) ?? [], addresses.get(id), say);
        if (r.left) warn(`todo-seed: ${id}: ${r.left}`);
      } catch (err) {
        status = 1;
        warn(`todo-seed: ${id}: left at the hook: ${err.message}`);
      }
    }),
  );
  return status;
}

/** Runs the pass under flock(1) -n on the lock file; a pass that finds it held does nothing. */
function underLock(s, argv) {
  const r = spawnSync("flock", ["--nonblock", "--conflict-exit-code", "75", s.lock, process.execPath, ...argv], {
    stdio: "inherit",
    env: { ...process.env, TODO_SEED_LOCKED: s.lock },
  });
  if (r.error) throw new Error(`cannot run flock: ${r.error.message}`);
  if (r.status === 75) {
    console.error(`todo-seed: another pass holds ${s.lock}; this one does nothing`);
    return 0;
  }
  return r.status ?? 1;
}

async function main() {
  const s = settings();
  if (process.env.TODO_SEED_LOCKED !== s.lock) return underLock(s, process.argv.slice(1));
  return pass(s);
}

// Run as a program (not imported); real paths, as the kit runs it through a symlink.
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  main().then(
    (status) => process.exit(status),
    (err) => {
      console.error(`todo-seed: error: ${err.message}`);
      process.exit(1);
    },
  );
}
