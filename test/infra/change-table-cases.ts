/**
 * One configuration change per row of docs/deploy.md's change table ("What a configuration change
 * does"), keyed by the row's first cell: the environment before and after.
 */
import { HTTPS, RDS, baseEnvironment } from "./synth-helpers.js";

type Env = Record<string, unknown>;
const single = (o: Env = {}) => baseEnvironment({ database: RDS, ...o });
const cluster = (o: Env = {}) => baseEnvironment({ topology: "cluster", database: RDS, ...o });
const ssh = baseEnvironment().ssh as Env;

export const CHANGES: Record<string, [Env, Env]> = {
  "`ssh.adminCidrs`": [single(), single({ ssh: { ...ssh, adminCidrs: ["192.0.2.1/32"] } })],
  "`instanceType`": [single(), single({ instanceType: "ecs.g3i.large" })],
  "`systemDisk.sizeGb` larger": [single(), single({ systemDisk: { sizeGb: 60 } })],
  "`systemDisk.type`": [single(), single({ systemDisk: { type: "ESSD_PL1" } })],
  "`zone`": [single(), single({ zone: "cn-beijing-c" })],
  "`network.vpcCidr` or `network.subnetCidr`": [
    single(),
    single({ network: { vpcCidr: "10.1.0.0/16", subnetCidr: "10.1.1.0/24" } }),
  ],
  "`network.*` in a cluster": [cluster(), cluster({ network: { subnetCidr: "172.16.8.0/24" } })],
  "`https`, `nodeMirror`, `backups.endpoint`, Node.js pin": [single(), single({ https: HTTPS })],
  "`database.mode` local → rds": [baseEnvironment(), single()],
  "`database.mode` rds → local": [single(), baseEnvironment()],
  "`topology` single → cluster": [single(), cluster()],
  "`eip.bandwidthMbps`": [single(), single({ eip: { bandwidthMbps: 50 } })],
  "`eip.isp`": [single(), single({ eip: { isp: "ChinaMobile" } })],
  "`eip.isp` in a cluster": [cluster(), cluster({ eip: { isp: "ChinaMobile" } })],
  "`cluster.loadBalancer.eip.billingType` or `.isp`": [
    cluster(),
    cluster({ cluster: { loadBalancer: { eip: { isp: "ChinaMobile" } } } }),
  ],
  "`cluster.servers`": [cluster(), cluster({ cluster: { servers: 3 } })],
  "`database.nodeSpec`, `database.storageGb`": [single(), single({ database: { ...RDS, storageGb: 40 } })],
  "`database.engineVersion`": [single(), single({ database: { ...RDS, engineVersion: "PostgreSQL_17" } })],
  "`backups.retentionDays`": [single(), single({ backups: { retentionDays: 90 } })],
  "`alerts`": [single(), single({ alerts: { email: "ops@example.com", webhook: true } })],
  "`files` turned on": [single(), single({ files: { corsOrigins: ["https://app.example.com"] } })],
  "`files` turned on in a cluster": [cluster(), cluster({ files: {} })],
  "`files.corsOrigins`, `files.keyPrefix`, the limits": [
    single({ files: {} }),
    single({ files: { corsOrigins: ["https://app.example.com"], keyPrefix: "uploads/", maxBytes: 1000 } }),
  ],
  "`files` turned off": [single({ files: {} }), single()],
};
