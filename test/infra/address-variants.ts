/**
 * The synthesized variants whose Terraform addresses must not move when the stack's code is
 * reorganized (state of existing environments is keyed by these addresses), and how an address
 * list is read from a stack. `npx tsx test/infra/capture-addresses.ts` rewrites the fixture; it
 * was first written from main before the topology split (commit message says so), so a diff in
 * the fixture is a deliberate, reviewed change of addresses.
 */
import { HTTPS, RDS, baseEnvironment, type TfJson } from "./synth-helpers.js";

export const ALERTS = { email: "ops@example.com", webhook: true };
export const CERT = {
  domain: "api.example.com",
  certificatePath: "~/certs/api.example.com/fullchain.pem",
  privateKeyPath: "~/certs/api.example.com/privkey.pem",
};

/** Variant name -> environment (synthesized as the stack todo-api-<env>, env = "v"). */
export const ADDRESS_VARIANTS: Record<string, Record<string, unknown>> = {
  "single local": baseEnvironment(),
  "single local, one admin CIDR": baseEnvironment({
    ssh: { publicKey: (baseEnvironment().ssh as { publicKey: string }).publicKey, adminCidrs: ["198.51.100.7/32"] },
  }),
  "single rds + domain + alerts": baseEnvironment({ database: RDS, https: HTTPS, alerts: ALERTS }),
  "cluster with certificate + alerts": baseEnvironment({
    topology: "cluster",
    database: RDS,
    cluster: { servers: 3, certificate: CERT },
    alerts: ALERTS,
  }),
  "cluster without certificate": baseEnvironment({ topology: "cluster", database: RDS }),
};

/** Every addressable thing of a stack: resources, data sources, variables, locals, outputs. */
export function addressesOf(tf: TfJson): string[] {
  const out: string[] = [];
  for (const [type, byName] of Object.entries<Record<string, unknown>>(tf.resource ?? {})) {
    for (const name of Object.keys(byName)) out.push(`${type}.${name}`);
  }
  for (const [type, byName] of Object.entries<Record<string, unknown>>(tf.data ?? {})) {
    for (const name of Object.keys(byName)) out.push(`data.${type}.${name}`);
  }
  for (const name of Object.keys(tf.variable ?? {})) out.push(`var.${name}`);
  for (const name of Object.keys(tf.locals ?? {})) out.push(`local.${name}`);
  for (const name of Object.keys(tf.output ?? {})) out.push(`output.${name}`);
  return out.sort();
}
