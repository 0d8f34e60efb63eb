import { expect } from "vitest";
import { RDS, baseEnvironment, resources, type TfJson } from "./synth-helpers.js";

/** What the cluster suites (cluster-*.test.ts) synthesize and how they read the result. */
export const CERT = {
  domain: "api.example.com",
  certificatePath: "~/certs/api.example.com/fullchain.pem",
  privateKeyPath: "~/certs/api.example.com/privkey.pem",
};
export const ADMIN = ["198.51.100.7/32", "203.0.113.0/28"];

export const variants = {
  "2 servers, no certificate": {
    env: baseEnvironment({ topology: "cluster", database: RDS }),
    servers: 2,
    certificate: false,
  },
  "3 servers, certificate": {
    env: baseEnvironment({ topology: "cluster", database: RDS, cluster: { servers: 3, certificate: CERT } }),
    servers: 3,
    certificate: true,
  },
} as const;

/** "${volcengine_x.name.attr}" → "volcengine_x.name" */
export const ref = (expr: string) => /^\$\{([\w-]+\.[\w-]+)\.[\w.]+\}$/.exec(expr)?.[1];
export const entries = (tf: TfJson, type: string): [string, any][] =>
  Object.entries(tf.resource?.[type] ?? {}).map(([name, r]) => [`${type}.${name}`, r]);

export function appServers(tf: TfJson) {
  return entries(tf, "volcengine_ecs_instance").filter(([, r]) => r.instance_name.includes("-app-"));
}
export function bastionInstance(tf: TfJson) {
  const found = entries(tf, "volcengine_ecs_instance").filter(([, r]) => r.instance_name.endsWith("-bastion"));
  expect(found).toHaveLength(1);
  return found[0]!;
}
export function groupByName(tf: TfJson, suffix: string) {
  const found = entries(tf, "volcengine_security_group").filter(([, r]) => r.security_group_name.endsWith(suffix));
  expect(found).toHaveLength(1);
  return found[0]![0];
}
export function subnetCidr(tf: TfJson, nameSuffix: string): string {
  return resources(tf, "volcengine_subnet").find((s) => s.subnet_name.endsWith(nameSuffix))!.cidr_block;
}
export function ingressOf(tf: TfJson, group: string) {
  return resources(tf, "volcengine_security_group_rule")
    .filter((r) => r.direction === "ingress" && ref(r.security_group_id) === group)
    .map((r) => `${r.protocol}/${r.port_start}-${r.port_end} from ${r.cidr_ip ?? `group ${ref(r.source_group_id)}`}`)
    .sort();
}
