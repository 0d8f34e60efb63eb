/** The cluster topology's load balancer: its server group, CLB, listeners and the rules around it. */
import { beforeAll, describe, expect, it } from "vitest";
import { resources, synth, type SynthResult, type TfJson, useSentinelEnvironment } from "./synth-helpers.js";
import {
  ADMIN,
  CERT,
  appServers,
  bastionInstance,
  entries,
  groupByName,
  ingressOf,
  ref,
  variants,
} from "./cluster-helpers.js";

useSentinelEnvironment();

describe.each(Object.entries(variants))("cluster topology, %s", (_name, variant) => {
  let result: SynthResult;
  let tf: TfJson;
  beforeAll(async () => {
    result = await synth({ environments: { prod: variant.env } });
    tf = result.stacks["todo-api-prod"]!;
  });

  it("puts every app server in the load balancer's server group on port 80", () => {
    const groups = entries(tf, "volcengine_server_group");
    expect(groups).toHaveLength(1);
    const members = resources(tf, "volcengine_server_group_server");
    expect(members.map((m) => ref(m.instance_id)).sort()).toEqual(
      appServers(tf)
        .map(([id]) => id)
        .sort(),
    );
    for (const m of members) {
      expect(m).toMatchObject({ type: "ecs", port: 80 });
      expect(ref(m.server_group_id)).toBe(groups[0]![0]);
    }
  });

  it("is a public, pay-as-you-go CLB with its EIP billing, in its own subnet", () => {
    const clb = resources(tf, "volcengine_clb")[0]!;
    expect(clb).toMatchObject({
      type: "public",
      load_balancer_spec: "small_1",
      load_balancer_billing_type: "PostPaid",
      eip_billing_config: { eip_billing_type: "PostPaidByTraffic", bandwidth: 5, isp: "BGP" },
    });
    const subnets = Object.fromEntries(entries(tf, "volcengine_subnet"));
    expect(subnets[ref(clb.subnet_id)!].subnet_name).toBe("todo-api-prod-lb");
    expect(subnets[ref(clb.subnet_id)!].zone_id).toBe("cn-beijing-a");
  });

  it("listens on 80 (and 443 with the certificate), health-checking /readyz", () => {
    const listeners = resources(tf, "volcengine_listener");
    expect(listeners.map((l) => `${l.protocol}:${l.port}`).sort()).toEqual(
      variant.certificate ? ["HTTP:80", "HTTPS:443"] : ["HTTP:80"],
    );
    const group = entries(tf, "volcengine_server_group")[0]![0];
    for (const l of listeners) {
      expect(ref(l.server_group_id)).toBe(group);
      expect(l.health_check).toMatchObject({ enabled: "on", method: "GET", uri: "/readyz", http_code: "http_2xx" });
    }
    const certs = entries(tf, "volcengine_certificate");
    if (!variant.certificate) {
      expect(certs).toHaveLength(0);
      return;
    }
    expect(certs).toHaveLength(1);
    const https = listeners.find((l) => l.protocol === "HTTPS")!;
    expect(https).toMatchObject({ certificate_source: "clb", security_policy_id: "tls_cipher_policy_1_2" });
    expect(ref(https.certificate_id)).toBe(certs[0]![0]);
    // The PEM files are read by Terraform at plan time: only their paths are in the JSON, read
    // through locals that tolerate a missing file (destroy), with preconditions for deploys.
    const local = (expr: string) => tf.locals[/^\$\{local\.([\w-]+)\}$/.exec(expr)![1]!];
    expect(local(certs[0]![1].public_key)).toBe(`\${try(file(pathexpand("${CERT.certificatePath}")), "")}`);
    expect(local(certs[0]![1].private_key)).toBe(`\${sensitive(try(file(pathexpand("${CERT.privateKeyPath}")), ""))}`);
    expect(certs[0]![1].lifecycle.precondition.map((p: any) => p.error_message)).toEqual([
      expect.stringContaining(CERT.certificatePath),
      expect.stringContaining(CERT.privateKeyPath),
    ]);
    expect(result.text).not.toContain("BEGIN");
  });

  it("opens HTTP on the app servers only to the CLB's layer-7 source range and SSH only to the bastion", () => {
    const app = groupByName(tf, "-app-sg");
    const bastion = groupByName(tf, "-bastion-sg");
    expect(ingressOf(tf, app)).toEqual([`tcp/22-22 from group ${bastion}`, "tcp/80-80 from 100.64.0.0/10"].sort());
    expect(ingressOf(tf, bastion)).toEqual(ADMIN.map((c) => `tcp/22-22 from ${c}`).sort());
    const rules = resources(tf, "volcengine_security_group_rule");
    expect(rules.filter((r) => r.direction === "ingress" && r.cidr_ip === "0.0.0.0/0")).toEqual([]);
    expect(
      rules.some((r) => r.direction === "ingress" && Number(r.port_start) <= 5432 && Number(r.port_end) >= 5432),
    ).toBe(false);
    expect(rules.filter((r) => r.direction === "egress").map((r) => `${r.protocol} ${r.cidr_ip}`)).toEqual([
      "all 0.0.0.0/1",
      "all 128.0.0.0/1",
      "all 0.0.0.0/1",
      "all 128.0.0.0/1",
    ]);
    // The bastion is the only instance in the bastion group.
    expect(bastionInstance(tf)[1].security_group_ids.map(ref)).toEqual([bastion]);
  });
});
