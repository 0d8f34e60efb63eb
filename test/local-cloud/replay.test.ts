import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { BootRequest } from "../../local-cloud/booter.js";
import { abbreviate, type LoggedCall } from "../../local-cloud/call-log.js";
import { startLocalCloud } from "../../local-cloud/server.js";
import { openApi, openApiJson, tos } from "./client.js";
import { expectedNetworkCalls, recordingNetwork } from "./replay-network.js";
import { bootedInstance, groupBoots, withoutGroupMembers } from "./replay-scaling.js";
import { learnIds, mapIds, readRecording, recordingBooter, recordingsByAnswers, shapeOf } from "./replay-support.js";

/**
 * Recorded calls of the real provider (v0.0.196) from `npm run rehearse:cloud -- --record`, replayed
 * against a fresh stand-in on the recording's clock (so states move exactly as they did): every
 * answer must have the recorded status, error code and Result shape, and the run must end with
 * nothing left. Ids are new in the replay; they are mapped as the answers reveal them. A recording
 * in `fixtures/<set>/` was made, and is replayed, under the answers of its `answers.json`.
 */
const FIXTURES = join(import.meta.dirname, "fixtures");
/** The scenario records with this transition time (harness/cloud/rehearse-cloud.ts). */
const TRANSITION_MS = 1000;
const ID =
  /^((vpc|vtb|subnet|sg|eip|i|eni|vol|kp|acl|clb|lsn|rsp|rs|ngw|snat|cert|scg|scc|lh|la|sa)-[0-9a-f]{20}|postgres-[0-9a-f]{12}|19\d{16})$/;
/** Services the provider calls with a JSON body (POST) rather than a query: replayed the same way. */
const JSON_SERVICES = ["volc_observe", "rds_postgresql"];
/** The most resources of each kind held at once, per recording (what the recorded stack creates). */
const PEAKS: Record<string, Record<string, number>> = {
  // rehearse:cloud's booted environments (part 1): "cluster-boot" before "cluster", which it starts with.
  "single-boot": { vpc: 1, "ecs-instance": 1, eip: 1 },
  "cluster-boot": {
    vpc: 1,
    subnet: 3,
    "ecs-instance": 3,
    eip: 2,
    clb: 1,
    "clb-listener": 1,
    "nat-gateway": 1,
    "snat-entry": 2,
    "rds-pg-instance": 1,
    "rds-pg-account": 1,
    "rds-pg-database": 1,
  },
  "single-local": { vpc: 1, "ecs-instance": 1, eip: 1, "tos-bucket": 1, "rds-pg-instance": 1 },
  "single-rds": {
    vpc: 1,
    "ecs-instance": 1,
    "tos-bucket": 1,
    "rds-pg-instance": 1,
    "rds-pg-allowlist": 1,
    "cm-contact-group": 1,
    "cm-rule": 5,
  },
  // The cluster with autoScaling (before "cluster", which it starts with): 2 servers, bastion, 2 of the group.
  "cluster-scaling": {
    vpc: 1,
    subnet: 3,
    "ecs-instance": 5,
    eip: 2,
    clb: 1,
    "nat-gateway": 1,
    "rds-pg-instance": 1,
    "as-group": 1,
    "as-configuration": 1,
    "as-lifecycle-hook": 2,
    "as-instance": 2,
  },
  cluster: {
    vpc: 1,
    subnet: 3,
    "ecs-instance": 3,
    eip: 2,
    clb: 1,
    "clb-listener": 1,
    "nat-gateway": 1,
    "snat-entry": 2,
    "rds-pg-instance": 1,
    "cm-rule": 9,
  },
};

/** The log keeps no secrets (`<redacted>`); the replay sends a password that passes the API's rules instead. */
function unredact(v: unknown): unknown {
  if (v === "<redacted>") return "Replay-1-password";
  if (Array.isArray(v)) return v.map(unredact);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unredact(x)]));
  return v;
}

/** One recorded call sent again the way the provider sent it: TOS, JSON OpenAPI or query OpenAPI. */
async function send(
  url: string,
  c: LoggedCall,
  ids: Map<string, string>,
): Promise<{ status: number; code?: string; result: unknown }> {
  const params = unredact(mapIds(c.params, ids)) as Record<string, any>;
  if (c.protocol === "tos") {
    const r = await tos(url, params.method, params.bucket, {
      key: params.key,
      sub: params.sub,
      query: params.versionId === undefined ? undefined : { versionId: params.versionId },
      headers: params.headers,
      body: params.body,
      raw: params.method === "PUT" && params.key ? "replayed" : undefined,
      region: c.region,
    });
    return { status: r.status, code: r.body.Code, result: r.body };
  }
  const call = JSON_SERVICES.includes(c.service) ? openApiJson : openApi;
  const r = await call(url, c.service, c.action, params, { version: c.version, region: c.region });
  return { status: r.status, code: r.body.ResponseMetadata?.Error?.Code, result: r.body.Result };
}

/** Keys, types, and the values a client acts on (ids, statuses, names, hashes); times and counters may differ. */
const shape = shapeOf((key, value) => /(Id|Ids|Status|Name|Address)$/.test(key) || value.startsWith("sha256:"));

/**
 * The booter calls a recording implies (when local-cloud/services/ecs/instance.ts and vpc/eip.ts call
 * the booter): a successful RunInstances boots the instance with its host name, the user data
 * decoded and the imported key pair's public key; an EIP associated with or disassociated from an
 * ECS instance (not a NAT gateway or a load balancer) attaches or detaches its address; Stop, Start
 * and the first DeleteInstance of an instance stop, start and remove it. Recorded ids are mapped to
 * the replay's; addresses are the ones the replay's AllocateEipAddress answered.
 */
function expectedBooterCalls(recorded: LoggedCall[], ids: Map<string, string>, replayed: LoggedCall[]): unknown[][] {
  const fresh = (id: unknown) => ids.get(String(id)) ?? String(id);
  const address = new Map<string, string>();
  for (const c of replayed)
    if (c.action === "AllocateEipAddress" && c.status === 200) {
      const r = c.result as { AllocationId: string; EipAddress: string };
      address.set(r.AllocationId, r.EipAddress);
    }
  const keys = new Map<string, string>();
  const subnets = new Map<string, { vpc: string; cidr: string }>();
  const privateIps = new Map<string, string>();
  for (const c of recorded)
    if (c.action === "DescribeInstances" && c.status === 200)
      for (const i of (c.result as { Instances?: any[] }).Instances ?? [])
        privateIps.set(i.InstanceId, i.NetworkInterfaces?.[0]?.PrimaryIpAddress);
  const boundTo = new Map<string, { instance: string; ecs: boolean }>();
  const removed = new Set<string>();
  const expected: unknown[][] = [];
  for (const c of recorded.filter((x) => x.protocol === "openapi" && x.status === 200)) {
    const p = c.params as Record<string, any>;
    if (c.action === "ImportKeyPair") keys.set(p.KeyPairName, p.PublicKey);
    else if (c.action === "CreateSubnet") subnets.set(String(c.created), { vpc: p.VpcId, cidr: p.CidrBlock });
    else if (c.action === "RunInstances") {
      const instanceId = fresh(c.created);
      const subnet = subnets.get(p.NetworkInterfaces[0].SubnetId)!;
      expected.push([
        "run",
        {
          instanceId,
          hostname: p.HostName ?? instanceId,
          userData: Buffer.from(p.UserData ?? "", "base64").toString("utf8"),
          publicKeys: keys.has(p.KeyPairName) ? [keys.get(p.KeyPairName)] : [],
          // The private address the stand-in reported for it (DescribeInstances, recorded).
          network: {
            vpcId: fresh(subnet.vpc),
            subnetCidr: subnet.cidr,
            privateIpAddress: privateIps.get(String(c.created)),
          },
        },
      ]);
    } else if (c.action === "AssociateEipAddress") {
      const ecs = (p.InstanceType ?? "EcsInstance") === "EcsInstance";
      boundTo.set(p.AllocationId, { instance: p.InstanceId, ecs });
      if (ecs) expected.push(["attach", fresh(p.InstanceId), address.get(fresh(p.AllocationId))]);
    } else if (c.action === "DisassociateEipAddress") {
      const bound = boundTo.get(p.AllocationId);
      boundTo.delete(p.AllocationId);
      if (bound?.ecs) expected.push(["detach", fresh(bound.instance), address.get(fresh(p.AllocationId))]);
    } else if (c.action === "StopInstance") expected.push(["stop", fresh(p.InstanceId)]);
    else if (c.action === "StartInstance") expected.push(["start", fresh(p.InstanceId)]);
    else if (c.action === "DeleteInstance" && !removed.has(p.InstanceId)) {
      removed.add(p.InstanceId);
      expected.push(["remove", fresh(p.InstanceId)]);
    }
  }
  return expected;
}

const fixtures = recordingsByAnswers(FIXTURES);

describe("local cloud: recorded provider calls replayed", () => {
  it("has at least one recording", () => expect(fixtures.length).toBeGreaterThan(0));

  for (const { file, name, answers } of fixtures) {
    it(`${file}: same statuses, errors and answer shapes; nothing left at the end`, async () => {
      const calls = readRecording(join(FIXTURES, file));
      let now = Date.parse(calls[0]!.time);
      const booted = recordingBooter();
      const networked = recordingNetwork();
      const cloud = await startLocalCloud({
        transitionMs: TRANSITION_MS,
        now: () => now,
        booter: booted.booter,
        network: networked.network,
        answers,
      });
      const ids = new Map<string, string>();
      const peak = new Map<string, number>();
      try {
        for (const [i, c] of calls.entries()) {
          now = Date.parse(c.time);
          const r = await send(cloud.url, c, ids);
          const where = `call ${i + 1} ${c.action}`;
          expect(r.status, where).toBe(c.status);
          if (c.status < 300) {
            learnIds(c.result, r.result, ids, ID);
            expect(shape(abbreviate(r.result)), where).toEqual(shape(mapIds(c.result, ids)));
          } else {
            expect(r.code, where).toBe(c.error);
          }
          for (const res of cloud.store.snapshot())
            peak.set(res.kind, Math.max(peak.get(res.kind) ?? 0, cloud.store.all(res.kind).length));
        }
        // The stack must go through whole under every set of answers: each recording created all of it.
        const expected = Object.entries(PEAKS).find(([prefix]) => name.startsWith(prefix))?.[1];
        expect(expected, `${file}: add its peaks to PEAKS`).toBeDefined();
        expect(Object.fromEntries(peak)).toMatchObject(expected!);
        now += TRANSITION_MS + 1;
        expect(cloud.store.snapshot().map((r) => `${r.kind}/${r.id}`)).toEqual([]);
        // The booter was asked for exactly what the recorded calls imply, in their order.
        const booterCalls = expectedBooterCalls(calls, ids, cloud.log.calls);
        expect(booterCalls.filter(([what]) => what === "run").length, `${file}: RunInstances recorded`).toBeGreaterThan(
          0,
        );
        // A scaling group's servers: booted from its configuration and removed by the group itself.
        const group = groupBoots(calls, (id) => ids.get(String(id)) ?? String(id));
        const ofGroup = (call: unknown[]) => group.instanceIds.has(bootedInstance(call));
        expect(booted.calls.filter((c) => !ofGroup(c))).toEqual(booterCalls);
        for (const id of group.instanceIds)
          expect(
            booted.calls
              .filter((c) => bootedInstance(c) === id)
              .map(([what, r]) =>
                what === "run"
                  ? [
                      what,
                      {
                        instanceId: (r as BootRequest).instanceId,
                        userData: (r as BootRequest).userData,
                        publicKeys: (r as BootRequest).publicKeys,
                      },
                    ]
                  : [what, r],
              ),
            `${file}: the group's ${id}`,
          ).toEqual(group.expected(id));
        if (name.startsWith("cluster-scaling")) expect(group.instanceIds.size, file).toBe(3);
        // The network booter too: NAT egress, CLB forwarding, RDS's PostgreSQL, each account's password.
        const network = withoutGroupMembers(networked.calls, group.instanceIds);
        expect(network.calls).toEqual(expectedNetworkCalls(calls, (id) => ids.get(String(id)) ?? String(id)));
        // The group's servers reached the load balancer's forwarding once admitted.
        expect(network.forwarded, file).toEqual(group.instanceIds);
        if (name.startsWith("cluster"))
          expect(new Set(networked.calls.map(([what]) => what)), file).toEqual(
            new Set(["egress", "vpcDeleted", "loadBalancer", "database", "password"]),
          );
        // The app servers' user data arrives decoded (the cluster's bastion has none).
        const userData = booted.calls
          .filter(([what]) => what === "run")
          .map(([, r]) => (r as BootRequest).userData)
          .filter(Boolean);
        expect(userData.length, file).toBeGreaterThan(0);
        for (const u of userData) expect(u).toMatch(/^#cloud-config\n/);
      } finally {
        await cloud.close();
      }
    });
  }
});
