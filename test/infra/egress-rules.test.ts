/**
 * "All outbound" is two rules (0.0.0.0/1 and 128.0.0.0/1), so it cannot duplicate a default egress
 * rule a new security group may hold (local-cloud/answers.ts, securityGroupDefaultRules), and an
 * environment made by the previous version (one rule to 0.0.0.0/0) is upgraded without a moment
 * without egress: with the real provider against the stand-in, under both answers.
 */
import { afterAll, describe, expect, it } from "vitest";
import type { LoggedCall } from "../../local-cloud/call-log.js";
import { providerMirror } from "./provider-mirror.js";
import { stackPart, withStandIn } from "./stand-in-cloud.js";
import { RDS, baseEnvironment, cleanupSynthDirs, synth, type TfJson } from "./synth-helpers.js";

afterAll(cleanupSynthDirs);

const HALVES = ["0.0.0.0/1", "128.0.0.0/1"];
const RULE = "volcengine_security_group_rule";
const single = async () => (await synth({ environments: { dev: baseEnvironment() } })).stacks["todo-api-dev"]!;

describe.each([
  ["single", baseEnvironment(), ["network_egress-all"]],
  [
    "cluster",
    baseEnvironment({ topology: "cluster", database: RDS }),
    ["network_app-egress-all", "network_bastion-egress-all"],
  ],
])("%s: every security group's egress", (_topology, env, legacyIds) => {
  it("is every protocol to two halves of the address space, never a rule to 0.0.0.0/0", async () => {
    const tf = (await synth({ environments: { dev: env } })).stacks["todo-api-dev"]!;
    const rules = Object.values<Record<string, any>>(tf.resource[RULE]);
    const egress = rules.filter((r) => r.direction === "egress");
    const groups = [...new Set(egress.map((r) => r.security_group_id))];
    expect(groups).toHaveLength(legacyIds.length);
    for (const group of groups) {
      const own = egress.filter((r) => r.security_group_id === group);
      expect(own.map((r) => r.cidr_ip).sort()).toEqual(HALVES);
      for (const r of own)
        expect(r).toMatchObject({ protocol: "all", port_start: -1, port_end: -1, policy: "accept", priority: 1 });
    }
    expect(egress.some((r) => r.cidr_ip === "0.0.0.0/0")).toBe(false);
  });

  it("moves the previous version's rule to the lower half, replaced only after both halves exist", async () => {
    const tf = (await synth({ environments: { dev: env } })).stacks["todo-api-dev"]!;
    for (const legacy of legacyIds) {
      const move = (tf.moved as { from: string; to: string }[]).find((m) => m.from.startsWith(`${RULE}.${legacy}_`));
      expect(move, `a moved block from ${legacy}`).toBeDefined();
      const lowerName = move!.to.slice(RULE.length + 1);
      const lower = tf.resource[RULE][lowerName];
      expect(lower).toMatchObject({ cidr_ip: "0.0.0.0/1", lifecycle: { create_before_destroy: true } });
      const upper = Object.values<Record<string, any>>(tf.resource[RULE]).find(
        (r) => r.cidr_ip === "128.0.0.0/1" && r.security_group_id === lower.security_group_id,
      );
      expect(upper?.depends_on).toEqual([`${RULE}.${lowerName}`]);
    }
  });
});

const NETWORK = ["volcengine_vpc", "volcengine_subnet", "volcengine_security_group", RULE];

/** The same network as the previous version wrote it: one egress rule to 0.0.0.0/0 at its old address. */
function previousVersion(current: TfJson): TfJson {
  const move = (current.moved as { from: string; to: string }[]).find((m) => m.from.includes("_egress-all_"))!;
  const lowerName = move.to.slice(RULE.length + 1);
  const rules = { ...current.resource[RULE] };
  const { lifecycle: _l, ...lower } = rules[lowerName];
  for (const [name, r] of Object.entries<Record<string, any>>(rules)) if (r.direction === "egress") delete rules[name];
  rules[move.from.slice(RULE.length + 1)] = { ...lower, cidr_ip: "0.0.0.0/0" };
  return {
    ...current,
    resource: { ...current.resource, [RULE]: rules },
    moved: (current.moved as { from: string }[]).filter((m) => m !== move),
  };
}

/** True when egress to every IPv4 address is allowed by `cidrs`. */
const coversAll = (cidrs: Set<string>) => cidrs.has("0.0.0.0/0") || HALVES.every((h) => cidrs.has(h));

const mirror = providerMirror();

describe("upgrading an environment of the previous version, with the real provider against the stand-in", () => {
  if (mirror.missing) {
    it.skip(`skipped: ${mirror.missing}`, () => {});
    return;
  }
  it.each([
    ["none", "the previous version applies; the upgrade keeps egress open throughout"],
    ["egress-all", "the previous version's rule is refused as a duplicate; this version applies"],
  ] as const)(
    "a new group holds %s: %s, plans clean and destroys to nothing",
    async (answer, _outcome) => {
      const current = stackPart(await single(), NETWORK);
      await withStandIn(mirror.path!, { securityGroupDefaultRules: answer }, async (run) => {
        run.write(previousVersion(current));
        const previous = await run.apply();
        if (answer === "none") expect(previous.status, previous.out).toBe(0);
        else {
          expect(previous.status).not.toBe(0);
          expect(previous.out).toMatch(/InvalidSecurityRule\.Conflict/);
        }

        const group = () => run.cloud.store.all("security-group")[0]!;
        const egressOf = () =>
          new Set(
            (group().fields.Permissions as { Direction: string; CidrIp: string }[])
              .filter((p) => p.Direction === "egress")
              .map((p) => p.CidrIp),
          );
        const before = run.cloud.log.calls.length;
        const held = egressOf();
        run.write(current);
        const upgrade = await run.apply();
        expect(upgrade.status, upgrade.out).toBe(0);

        // The group's egress after every call of the upgrade: never short of every address.
        const calls: LoggedCall[] = run.cloud.log.calls.slice(before);
        for (const c of calls.filter(
          (c) => c.status < 400 && /^(Authorize|Revoke)SecurityGroupEgress$/.test(c.action),
        )) {
          const cidr = (c.params as { CidrIp: string }).CidrIp;
          if (c.action.startsWith("Authorize")) held.add(cidr);
          else held.delete(cidr);
          expect(coversAll(held), `after ${c.action} ${cidr}: ${[...held].join(", ")}`).toBe(true);
        }
        expect([...egressOf()].sort()).toEqual(answer === "none" ? HALVES : ["0.0.0.0/0", ...HALVES].sort());
        if (answer === "none")
          expect(calls.some((c) => c.action === "RevokeSecurityGroupEgress" && c.status < 400)).toBe(true);

        const plan = await run.plan();
        expect(plan.status, plan.out).toBe(0);
        const destroyed = await run.destroy();
        expect(destroyed.status, destroyed.out).toBe(0);
        expect(destroyed.left).toEqual([]);
      });
    },
    240_000,
  );
});

/**
 * create_before_destroy on the egress rules reaches what they depend on (Terraform gives it to the
 * security group and the VPC): a network change that replaces the VPC must still plan without a
 * cycle and apply, with the server in the subnet replaced too.
 */
describe("a network change that replaces the VPC, with the real provider against the stand-in", () => {
  if (mirror.missing) {
    it.skip(`skipped: ${mirror.missing}`, () => {});
    return;
  }
  it("applies, then plans no change and destroys to nothing", async () => {
    const types = [...NETWORK, "volcengine_ecs_key_pair", "volcengine_ecs_instance"];
    const at = async (vpcCidr: string, subnetCidr: string) =>
      stackPart(
        (await synth({ environments: { dev: baseEnvironment({ network: { vpcCidr, subnetCidr } }) } })).stacks[
          "todo-api-dev"
        ]!,
        types,
      );
    await withStandIn(mirror.path!, {}, async (run) => {
      run.write(await at("172.16.0.0/16", "172.16.1.0/24"));
      const first = await run.apply();
      expect(first.status, first.out).toBe(0);
      const vpcBefore = run.cloud.store.all("vpc").map((v) => v.id);
      run.write(await at("10.20.0.0/16", "10.20.1.0/24"));
      const changed = await run.apply();
      expect(changed.status, changed.out).toBe(0);
      expect(changed.out).not.toMatch(/Cycle/);
      expect(run.cloud.store.all("vpc").map((v) => v.id)).not.toEqual(vpcBefore);
      const plan = await run.plan();
      expect(plan.status, plan.out).toBe(0);
      const destroyed = await run.destroy();
      expect(destroyed.status, destroyed.out).toBe(0);
      expect(destroyed.left).toEqual([]);
    });
  }, 300_000);
});
