import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { BootRequest } from "../../local-cloud/booter.js";
import { abbreviate } from "../../local-cloud/call-log.js";
import { startLocalCloud } from "../../local-cloud/server.js";
import { openApi } from "./client.js";
import { learnIds, mapIds, readRecording, recordingBooter, recordingsByAnswers, shapeOf } from "./replay-support.js";

/**
 * The real provider's calls for a scaling group held at its lifecycle hook and joined to a CLB
 * server group (recorded by `scaling-provider.test.ts` with `SCALING_RECORD`), replayed against a
 * fresh stand-in on the recording's clock, in CI without the provider: every answer must have the
 * recorded status, error code and Result shape; the group's instance must be booted with the
 * configuration's user data and key and removed again; nothing may be left. A recording in
 * `scaling-fixtures/<set>/` was made, and is replayed, under the answers of its `answers.json`.
 */
const FIXTURES = join(import.meta.dirname, "scaling-fixtures");
const TRANSITION_MS = 1000;
/** Every id the stand-in makes: `<prefix>-<20 hex>` (vpc, subnet, sg, kp, clb, rsp, i, scg, scc, lh, la, sa...). */
const ID = /^[a-z]+-[0-9a-f]{20}$/;

/** Keys, types, and the values a client acts on (ids, states, names); times and counters may differ. */
const shape = shapeOf((key) => /(Id|Ids|Status|State|Name|Address)$/.test(key));

const fixtures = recordingsByAnswers(FIXTURES);

describe("a scaling group's provider calls, replayed against the stand-in", () => {
  it("has a recording under each combination of the two Auto Scaling switches", () => {
    const combinations = fixtures.map((f) => `${f.answers.scalingHookServerGroup}|${f.answers.scalingGroupDelete}`);
    expect(new Set(combinations)).toEqual(
      new Set([
        "after-hook|releases-instances",
        "before-hook|refused",
        "before-hook|releases-instances",
        "after-hook|refused",
      ]),
    );
  });

  for (const { file, answers } of fixtures) {
    it(`${file}: same statuses, errors and answer shapes; the held instance booted and removed; nothing left`, async () => {
      const calls = readRecording(join(FIXTURES, file));
      let now = Date.parse(calls[0]!.time);
      const { booter, calls: booted } = recordingBooter();
      const cloud = await startLocalCloud({ transitionMs: TRANSITION_MS, now: () => now, booter, answers });
      const ids = new Map<string, string>();
      let peakInstances = 0;
      try {
        for (const [i, c] of calls.entries()) {
          now = Date.parse(c.time);
          const params = mapIds(c.params, ids) as Record<string, unknown>;
          const r = await openApi(cloud.url, c.service, c.action, params, { version: c.version, region: c.region });
          const where = `call ${i + 1} ${c.action}`;
          expect(r.status, where).toBe(c.status);
          if (c.status < 300) {
            learnIds(c.result, r.body.Result, ids, ID);
            expect(shape(abbreviate(r.body.Result)), where).toEqual(shape(mapIds(c.result, ids)));
          } else expect(r.body.ResponseMetadata.Error.Code, where).toBe(c.error);
          peakInstances = Math.max(peakInstances, cloud.store.all("as-instance").length);
        }
        now += TRANSITION_MS + 1;
        expect(cloud.store.snapshot().map((r) => `${r.kind}/${r.id}`)).toEqual([]);
        expect(peakInstances).toBe(1);
        // The group's one instance: booted from the configuration, removed when the group scaled to 0.
        const param = (action: string, name: string) =>
          (calls.find((c) => c.action === action)!.params as Record<string, string>)[name]!;
        const [run, remove, ...rest] = booted;
        expect(rest).toEqual([]);
        expect(run![0]).toBe("run");
        const request = run![1] as BootRequest;
        expect(request.userData).toBe(
          Buffer.from(param("CreateScalingConfiguration", "UserData"), "base64").toString("utf8"),
        );
        expect(request.publicKeys).toEqual([param("ImportKeyPair", "PublicKey")]);
        expect(remove).toEqual(["remove", request.instanceId]);
        // The seed's completion is what put it in the server group: CompleteLifecycleActivity named it.
        const completed = calls.find((c) => c.action === "CompleteLifecycleActivity")!;
        expect(ids.get(String((completed.result as { InstanceId: string }).InstanceId))).toBe(request.instanceId);
      } finally {
        await cloud.close();
      }
    });
  }
});
