/** `cluster.autoScaling` in the stack configuration: what it accepts, what it refuses and how it says so. */
import { describe, expect, it } from "vitest";
import { StackConfigError, parseStackConfig } from "../../infra/config/load.js";
import { RDS, baseEnvironment } from "./synth-helpers.js";

const parse = (env: Record<string, unknown>) =>
  parseStackConfig({ environments: { prod: env } }, { source: "/somewhere/stack.config.json" });
const cluster = (autoScaling: unknown) =>
  baseEnvironment({ topology: "cluster", database: RDS, cluster: { autoScaling } });
const problems = (env: Record<string, unknown>) => {
  try {
    parse(env);
  } catch (err) {
    if (err instanceof StackConfigError) return err.problems;
    throw err;
  }
  throw new Error("expected a StackConfigError");
};

describe("cluster.autoScaling", () => {
  it("is absent unless set", () => {
    const env = parse(baseEnvironment({ topology: "cluster", database: RDS })).environments[0]!;
    expect(env.cluster.autoScaling).toBeUndefined();
  });

  it("defaults minServers to 0 and leaves desiredServers and instanceType to the stack", () => {
    const env = parse(cluster({ maxServers: 4 })).environments[0]!;
    expect(env.cluster.autoScaling).toEqual({ minServers: 0, maxServers: 4 });
  });

  it("takes every setting within its bounds", () => {
    const settings = { minServers: 2, maxServers: 20, desiredServers: 3, instanceType: "ecs.g3il.large" };
    expect(parse(cluster(settings)).environments[0]!.cluster.autoScaling).toEqual(settings);
  });

  it.each([
    [{ maxServers: 0 }, "maxServers: at least 1 (a group that may start no server scales nothing)"],
    [{ maxServers: 21 }, "maxServers: at most 20"],
    [{ minServers: -1, maxServers: 2 }, "minServers: at least 0"],
    [{ minServers: 21, maxServers: 20 }, "minServers: at most 20"],
    [{ maxServers: 2.5 }, "maxServers: Invalid input: expected int, received number"],
    [{ minServers: 3, maxServers: 2 }, "maxServers: must be at least minServers (3)"],
    [
      { minServers: 1, maxServers: 3, desiredServers: 0 },
      "desiredServers: must be between minServers (1) and maxServers (3)",
    ],
    [{ maxServers: 3, desiredServers: 4 }, "desiredServers: must be between minServers (0) and maxServers (3)"],
    [
      { maxServers: 3, instanceType: "g3il.large" },
      'instanceType: must be an ECS instance type such as "ecs.c3i.large"',
    ],
    [{ maxServers: 3, desired: 1 }, "unknown setting"],
  ])("refuses %j", (settings, message) => {
    const found = problems(cluster(settings));
    expect(
      found.filter((p) => p.startsWith("environments.prod.cluster.autoScaling.") && p.includes(message)),
    ).toHaveLength(1);
    expect(found.every((p) => p.startsWith("environments.prod.cluster.autoScaling."))).toBe(true);
  });

  it("requires maxServers", () => {
    expect(problems(cluster({ minServers: 1 }))[0]).toMatch(/^environments\.prod\.cluster\.autoScaling\.maxServers: /);
  });

  it("is refused outside the cluster topology, with where it applies", () => {
    expect(problems(baseEnvironment({ cluster: { autoScaling: { maxServers: 2 } } }))).toEqual([
      'environments.prod.cluster.autoScaling: applies to topology "cluster" only: a scaling group adds servers behind the load balancer, which a single server has not (see docs/scale-out.md)',
    ]);
  });
});
