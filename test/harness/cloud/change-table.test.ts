import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  compareEffect,
  effectOfPlan,
  readChangeTable,
  tableRow,
  type PlannedChange,
} from "../../../harness/cloud/change-table.js";
import { removedTargets } from "../../../harness/cloud/variant-scenario.js";
import type { LoggedCall } from "../../../local-cloud/call-log.js";

const call = (action: string, status = 200) => ({ action, status }) as LoggedCall;
const planned = (address: string, actions: string[], after: unknown = {}): PlannedChange => ({
  address,
  change: { actions, after },
});

describe("local cloud: the change table of docs/deploy.md", () => {
  it("sorts a plan into the columns; the never-applied deploy step counts as replaced only when its triggers change", () => {
    const before = [planned("null_resource.app_release_E0EC404F", ["create"], { triggers: { host: "a" } })];
    const same = effectOfPlan(
      [
        planned("null_resource.app_release_E0EC404F", ["create"], { triggers: { host: "a" } }),
        planned("volcengine_tos_bucket_lifecycle.backups_lifecycle_FF7AB924", ["update"]),
      ],
      [call("GetBucketLifecycle"), call("PutBucketLifecycle"), call("DeleteKeyPairs", 409)],
      before,
    );
    expect(same).toEqual({
      inPlace: ["volcengine_tos_bucket_lifecycle.backups_lifecycle"],
      replaced: [],
      created: [],
      destroyed: [],
      calls: ["PutBucketLifecycle"],
    });
    const changed = effectOfPlan(
      [planned("null_resource.app_release_E0EC404F", ["create"], { triggers: { host: "b" } })],
      [],
      before,
    );
    expect(changed.replaced).toEqual(["null_resource.app_release"]);
  });

  it("reads the rows back as written and names every column that differs", () => {
    const dir = mkdtempSync(join(tmpdir(), "change-table-"));
    try {
      const observed = { inPlace: [], replaced: ["null_resource.app_release"], created: [], destroyed: [], calls: [] };
      const file = join(dir, "deploy.md");
      writeFileSync(
        file,
        `# x\n\n### Checked by the local cloud\n\n| Change | Updated in place | Replaced | Created | Destroyed | Mutating API calls |\n| --- | --- | --- | --- | --- | --- |\n${tableRow("a: add a domain", observed)}\n\n## next\n| b | – | – | – | – | – |\n`,
      );
      const table = readChangeTable(file);
      expect([...table.keys()]).toEqual(["a: add a domain"]);
      expect(compareEffect(table.get("a: add a domain"), observed)).toEqual([]);
      expect(compareEffect(table.get("a: add a domain"), { ...observed, calls: ["ModifyInstanceAttribute"] })).toEqual([
        "calls: documented none; observed ModifyInstanceAttribute",
      ]);
      expect(compareEffect(undefined, observed)).toEqual(["no row in the table"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("has a row for every owner change of the scenario", async () => {
    const { VARIANTS } = await import("../../../harness/cloud/scenario-config.js");
    const table = readChangeTable(join(import.meta.dirname, "../../../docs/deploy.md"));
    for (const change of VARIANTS.flatMap((v) => v.changes)) expect(table.has(change.id), change.id).toBe(true);
  });
});

describe("rehearse:cloud: what the record-only environments apply", () => {
  it("leaves out the deploy step and everything that waits for it, directly or through another resource", async () => {
    const { targets } = await import("../../../harness/cloud/scenario-config.js");
    const stack = {
      resource: {
        null_resource: { release: { triggers: { v: "1" } } },
        volcengine_server_group_server: {
          member: { depends_on: ["null_resource.release"], server_group_id: "${volcengine_server_group.g.id}" },
        },
        terraform_data: { after_member: { input: "${volcengine_server_group_server.member.id}" } },
        volcengine_server_group: { g: { load_balancer_id: "x" } },
        volcengine_vpc: { v: { cidr_block: "172.16.0.0/16" } },
      },
    };
    expect(targets(stack, ["null_resource"])).toEqual({
      included: ["volcengine_server_group.g", "volcengine_vpc.v"],
      excluded: ["null_resource.release", "volcengine_server_group_server.member", "terraform_data.after_member"],
    });
  });
});

describe("local cloud: an owner change applied with -target", () => {
  it("also names what the change removes (else -target would keep it), never the deploy step", () => {
    expect(
      removedTargets([
        planned("volcengine_security_group_rule.network_bastion-ingress-22-from-198-18-255-2-32_1A2B3C4D", ["delete"]),
        planned("null_resource.app_server-1_release_985B8B2F", ["delete"]),
        planned("volcengine_ecs_instance.server_instance_AD56310F", ["delete", "create"]),
        planned("volcengine_vpc.network_vpc_4E8F0223", ["no-op"]),
      ]),
    ).toEqual(["-target=volcengine_security_group_rule.network_bastion-ingress-22-from-198-18-255-2-32_1A2B3C4D"]);
  });
});
