import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { abbreviate, type LoggedCall } from "../../local-cloud/call-log";
import { startLocalCloud } from "../../local-cloud/server";
import { openApi } from "./client";
import type { BootRequest, InstanceBooter } from "../../local-cloud/booter";

/**
 * Recorded calls of the real provider (v0.0.196) from `npm run rehearse:cloud -- --record`, replayed
 * against a fresh stand-in on the recording's clock (so states move exactly as they did): every
 * answer must have the recorded status, error code and Result shape, and the run must end with
 * nothing left. Ids are new in the replay; they are mapped as the answers reveal them.
 */
const FIXTURES = join(import.meta.dirname, "fixtures");
/** The scenario records with this transition time (local-cloud/rehearse-cloud.ts). */
const TRANSITION_MS = 1000;
const ID = /^(vpc|vtb|subnet|sg|eip|i|eni|vol|kp)-[0-9a-f]{20}$/;

function mapIds(v: unknown, ids: Map<string, string>): unknown {
  if (typeof v === "string") return [...ids].reduce((s, [from, to]) => s.split(from).join(to), v);
  if (Array.isArray(v)) return v.map((x) => mapIds(x, ids));
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mapIds(x, ids)]));
  return v;
}

function learnIds(recorded: unknown, fresh: unknown, ids: Map<string, string>): void {
  if (typeof recorded === "string" && typeof fresh === "string" && ID.test(recorded) && !ids.has(recorded)) ids.set(recorded, fresh);
  else if (Array.isArray(recorded) && Array.isArray(fresh)) recorded.forEach((x, i) => learnIds(x, fresh[i], ids));
  else if (recorded && fresh && typeof recorded === "object" && typeof fresh === "object") {
    for (const k of Object.keys(recorded)) learnIds((recorded as any)[k], (fresh as any)[k], ids);
  }
}

/** Keys, types, and the values a client acts on (ids, statuses, names, hashes); times and counters may differ. */
function shape(v: unknown, key = ""): unknown {
  if (Array.isArray(v)) return v.map((x) => shape(x, key));
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shape(x, k)]));
  if (typeof v === "string" && (/(Id|Ids|Status|Name|Address)$/.test(key) || v.startsWith("sha256:"))) return v;
  return typeof v;
}

/** What the stand-in asked a booter to do, in order: the real one boots containers (scripts/rehearse/ecs-booter.ts). */
function recordingBooter() {
  const calls: unknown[][] = [];
  const booter: InstanceBooter = {
    run: (r: BootRequest) => void calls.push(["run", r]),
    stop: (id) => void calls.push(["stop", id]),
    start: (id) => void calls.push(["start", id]),
    remove: (id) => void calls.push(["remove", id]),
    attachAddress: (id, address) => void calls.push(["attach", id, address]),
    detachAddress: (id, address) => void calls.push(["detach", id, address]),
  };
  return { booter, calls };
}

const fixtures = readdirSync(FIXTURES).filter((f) => f.endsWith(".jsonl"));

describe("local cloud: recorded provider calls replayed", () => {
  it("has at least one recording", () => expect(fixtures.length).toBeGreaterThan(0));

  for (const file of fixtures) {
    it(`${file}: same statuses, errors and answer shapes; nothing left at the end`, async () => {
      const calls = readFileSync(join(FIXTURES, file), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as LoggedCall);
      let now = Date.parse(calls[0]!.time);
      const booted = recordingBooter();
      const cloud = await startLocalCloud({ transitionMs: TRANSITION_MS, now: () => now, booter: booted.booter });
      const ids = new Map<string, string>();
      const peak = new Map<string, number>();
      try {
        for (const [i, c] of calls.entries()) {
          now = Date.parse(c.time);
          const r = await openApi(cloud.url, c.service, c.action, mapIds(c.params, ids) as Record<string, unknown>, { version: c.version, region: c.region });
          const where = `call ${i + 1} ${c.action}`;
          expect(r.status, where).toBe(c.status);
          if (c.status === 200) {
            learnIds(c.result, r.body.Result, ids);
            expect(shape(abbreviate(r.body.Result)), where).toEqual(shape(mapIds(c.result, ids)));
          } else {
            expect(r.body.ResponseMetadata.Error.Code, where).toBe(c.error);
          }
          for (const res of cloud.store.snapshot()) peak.set(res.kind, Math.max(peak.get(res.kind) ?? 0, cloud.store.all(res.kind).length));
        }
        expect(Object.fromEntries(peak)).toMatchObject({ vpc: 1, subnet: 1, "security-group": 1, "ecs-instance": 1, eip: 1, "key-pair": 1 });
        now += TRANSITION_MS + 1;
        expect(cloud.store.snapshot().map((r) => `${r.kind}/${r.id}`)).toEqual([]);
        // The booter got the server to boot, with the user data decoded and the key pair's key, its
        // EIP, then lost both: exactly once each, in the order a server's life needs them.
        const sent = (action: string) => calls.find((c) => c.action === action && c.status === 200)!.params as Record<string, any>;
        const instance = [...ids].find(([from]) => from === calls.find((c) => c.action === "RunInstances" && c.status === 200)!.created)![1];
        const eip = cloud.log.calls.find((c) => c.action === "AllocateEipAddress" && c.status === 200)!.result as { EipAddress: string };
        expect(booted.calls).toEqual([
          ["run", { instanceId: instance, hostname: sent("RunInstances").HostName, userData: Buffer.from(sent("RunInstances").UserData, "base64").toString("utf8"), publicKeys: [sent("ImportKeyPair").PublicKey] }],
          ["attach", instance, eip.EipAddress],
          ["detach", instance, eip.EipAddress],
          ["remove", instance],
        ]);
        expect((booted.calls[0]![1] as BootRequest).userData).toMatch(/^#cloud-config\n/);
      } finally {
        await cloud.close();
      }
    });
  }
});
