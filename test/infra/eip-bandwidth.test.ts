/**
 * Elastic IP bandwidth per billing type: the API (provider v0.0.196, `bandwidth` of EIPs and of the
 * CLB's EIP) accepts 1~200 Mbps with PostPaidByTraffic and 1~500 with PostPaidByBandwidth. More than
 * 200 with traffic billing is refused by the configuration check, before a deploy that would fail
 * halfway; for the server's, the bastion's and NAT's EIP (`eip`) and the load balancer's.
 */
import { describe, expect, it } from "vitest";
import { StackConfigError, parseStackConfig } from "../../infra/config/load.js";
import { RDS, baseEnvironment } from "./synth-helpers.js";

function problems(env: Record<string, unknown>): string[] {
  try {
    parseStackConfig({ environments: { dev: env } }, { source: "stack.config.json", env: {} });
    return [];
  } catch (err) {
    if (err instanceof StackConfigError) return err.problems;
    throw err;
  }
}

describe("EIP bandwidth by billing type", () => {
  it("refuses more than 200 Mbps billed by traffic, naming the limit and the way out", () => {
    expect(problems(baseEnvironment({ eip: { bandwidthMbps: 201 } }))).toEqual([
      "environments.dev.eip.bandwidthMbps: at most 200 Mbps with PostPaidByTraffic billing (the API refuses more); choose PostPaidByBandwidth for up to 500",
    ]);
    const cluster = baseEnvironment({
      topology: "cluster",
      database: RDS,
      cluster: { loadBalancer: { eip: { billingType: "PostPaidByTraffic", bandwidthMbps: 300 } } },
    });
    expect(problems(cluster)).toEqual([
      "environments.dev.cluster.loadBalancer.eip.bandwidthMbps: at most 200 Mbps with PostPaidByTraffic billing (the API refuses more); choose PostPaidByBandwidth for up to 500",
    ]);
  });

  it("accepts 200 billed by traffic and 500 billed by bandwidth; refuses 501", () => {
    expect(problems(baseEnvironment({ eip: { bandwidthMbps: 200 } }))).toEqual([]);
    expect(problems(baseEnvironment({ eip: { billingType: "PostPaidByBandwidth", bandwidthMbps: 500 } }))).toEqual([]);
    expect(problems(baseEnvironment({ eip: { billingType: "PostPaidByBandwidth", bandwidthMbps: 501 } }))).toEqual([
      "environments.dev.eip.bandwidthMbps: Too big: expected number to be <=500",
    ]);
  });
});
