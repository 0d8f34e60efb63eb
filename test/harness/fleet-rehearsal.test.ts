import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { BootRequest, InstanceBooter } from "../../local-cloud/booter.js";
import { listen } from "../../local-cloud/listen.js";
import { startS3StandIn } from "../../local-cloud/services/tos/s3-data-plane.js";
import { request } from "node:https";
import {
  endpointNames,
  hostsLines,
  makeRehearsalCa,
  OPENAPI_HOST,
  type RehearsalCa,
  trustFiles,
} from "../../harness/rehearse/cluster/endpoints.js";
import { FleetCloud } from "../../harness/rehearse/cluster/fleet-cloud.js";
import { InstanceMetadata } from "../../harness/rehearse/cluster/instance-metadata.js";
import { TlsFront } from "../../harness/rehearse/cluster/tls-front.js";
import { readAutoScaling } from "../../harness/rehearse/cluster/scaling-stack.js";
import { synthCluster, type SynthesizedCluster, type TfJson } from "../../harness/rehearse/cluster/stack.js";
import { AUTO_SCALING } from "../../harness/rehearse/cluster/fleet-scenario.js";
import { requireTools } from "../support/tools.js";

/** The run's CA is made with openssl (the rehearsal's preflight requires it; a bare machine may lack it). */
const openssl = requireTools("openssl");

// The pieces of the cluster rehearsal's auto scaling that need neither root nor containers: the
// endpoints replaced in the synthesized stack, the scaling resources read from it, the metadata
// service per instance, the local cloud built from those resources (driven here by a moved clock
// and a recording booter), the bucket reached by two roles, and the relay to the stand-ins. The
// booted whole runs in `npm run rehearse`.

const kit = "../../cloud-init/lib/role-client.mjs";
const openApiKit = "../../cloud-init/lib/volc-openapi.mjs";
type Creds = { id: string; secret: string; token?: string };
const { roleCredentials, signV4 } = (await import(kit)) as {
  roleCredentials(s: { metadata: string; role: string }): Promise<Creds>;
  signV4(a: Record<string, unknown>): Record<string, string>;
};
const { callAction } = (await import(openApiKit)) as { callAction(a: Record<string, unknown>): Promise<TfJson> };

const MIRROR_NODE = { version: "24.99.1", sha256X64: "ab".repeat(32) };
const TOS_HOST = "tos-s3-cn-beijing.volces.com";
let dir: string;
let stack: SynthesizedCluster;
/** The same cluster with `cluster.autoScaling` (what the rehearsal's auto-scaling steps boot). */
let scaled: SynthesizedCluster;
let ca: RehearsalCa;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "fleet-rehearsal-test-"));
  const release = { path: join(dir, "todo-api-0123456789ab.tar.gz"), hash: "0123456789ab" };
  writeFileSync(release.path, "not a real tarball");
  writeFileSync(join(dir, "id_ed25519"), "not a real key\n");
  const options = {
    workDir: dir,
    servers: 2,
    release,
    publicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE8rBqkH1m2oQpX7m4kV3r8gkJm9u2cC5y0cN8i6bWcd test@example",
    privateKeyPath: join(dir, "id_ed25519"),
    adminCidr: "10.215.8.1/32",
    mirrorUrl: "http://10.215.8.1:4321",
    node: MIRROR_NODE,
  };
  stack = await synthCluster(options);
  scaled = await synthCluster({ ...options, autoScaling: AUTO_SCALING });
  if (openssl.available) ca = await makeRehearsalCa(join(dir, "ca"), [OPENAPI_HOST, TOS_HOST, `*.${TOS_HOST}`]);
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const scalingStack = () => structuredClone(scaled.tf) as TfJson;

/** GET over TLS to 127.0.0.1:port as `host` (SNI and Host), trusting only the run's CA. */
function getAs(
  port: number,
  host: string,
  path: string,
  trust: string | null = ca.caPem,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) =>
    request(
      { host: "127.0.0.1", port, servername: host, headers: { host }, path, ca: trust ?? undefined, agent: false },
      (res) => {
        let body = "";
        res.on("data", (d) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    )
      .on("error", reject)
      .end(),
  );
}

describe("Volcengine's endpoints under their real names", () => {
  it("finds the names the stack calls: TOS in every server's settings, the OpenAPI once there is a seed", () => {
    const texts = (s: SynthesizedCluster) => [
      ...s.servers.map((x) => x.userData),
      JSON.stringify(s.tf.resource.null_resource),
    ];
    expect(endpointNames(texts(stack))).toEqual({ tos: [TOS_HOST] });
    expect(endpointNames(texts(scaled))).toEqual({ openApi: OPENAPI_HOST, tos: [TOS_HOST] });
    // The stack itself is left as synthesized: the kit takes https:// origins only.
    expect(JSON.stringify(scaled.tf.resource.null_resource)).toContain(`"SEED_ENDPOINT='https://${OPENAPI_HOST}'"`);
    expect(readAutoScaling(scaled.tf)!.configuration.userData).toContain(`FLEET_ENDPOINT='https://${TOS_HOST}'`);
  });

  it("resolves each name, and the bucket as a virtual host, to the host's end of the uplink", () => {
    expect(hostsLines({ openApi: OPENAPI_HOST, tos: [TOS_HOST] }, ["todo-backups"], "10.215.8.1")).toEqual([
      `10.215.8.1 ${OPENAPI_HOST}`,
      `10.215.8.1 ${TOS_HOST}`,
      `10.215.8.1 todo-backups.${TOS_HOST}`,
    ]);
  });

  it.skipIf(openssl.missing)(
    "makes every Node.js process on a server trust the run's CA: units through systemd, logins through pam_env",
    () => {
      const files = Object.fromEntries(trustFiles(ca.caPem).map((f) => [f.path, f.content]));
      const path = Object.keys(files).find((p) => p.endsWith(".crt"))!;
      expect(files[path]).toBe(ca.caPem);
      expect(files["etc/systemd/system.conf.d/todo-rehearsal-ca.conf"]).toBe(
        `[Manager]\nDefaultEnvironment=NODE_EXTRA_CA_CERTS=/${path}\n`,
      );
      expect(files["etc/environment"]).toBe(`NODE_EXTRA_CA_CERTS=/${path}\n`);
    },
  );

  it.skipIf(openssl.missing)(
    "serves each name through the TLS front to its stand-in; a name without one is closed; the CA is needed",
    async () => {
      const seen: string[] = [];
      const upstream = createServer((req, res) => {
        seen.push(`${req.headers.host} ${req.url}`);
        res.end("stand-in");
      });
      const target = await listen(upstream);
      const front = await TlsFront.start("127.0.0.1", 0, ca);
      try {
        front.targets.set(`*.${TOS_HOST}`, target);
        expect(await getAs(front.port, `todo-backups.${TOS_HOST}`, "/fleet/current")).toEqual({
          status: 200,
          body: "stand-in",
        });
        expect(seen).toEqual([`todo-backups.${TOS_HOST} /fleet/current`]);
        await expect(getAs(front.port, OPENAPI_HOST, "/")).rejects.toThrow();
        front.targets.set(OPENAPI_HOST, target);
        expect((await getAs(front.port, OPENAPI_HOST, "/")).status).toBe(200);
        // Without the run's CA (Node.js's own bundle), the certificate is refused.
        await expect(getAs(front.port, OPENAPI_HOST, "/", null)).rejects.toThrow(/certificate/);
      } finally {
        await front.close();
        await new Promise((r) => upstream.close(r));
      }
    },
  );
});

describe("cluster.autoScaling as the rehearsal reads it from the synthesized stack", () => {
  it("reads the group, the configuration with its user data, the attachment, the hooks, the enabler and the roles", () => {
    const s = readAutoScaling(scalingStack())!;
    expect(s.group).toMatchObject({
      name: "todo-api-cluster-fleet",
      min: 0,
      max: 2,
      desired: 1,
      multiAzPolicy: "BALANCE",
    });
    expect(s.group.subnets.map((x) => x.address).sort()).toEqual(
      stack.servers
        .map(
          (sv) =>
            Object.entries(stack.tf.resource.volcengine_subnet).find(
              ([, v]) => (v as TfJson).cidr_block === sv.subnetCidr,
            )![0],
        )
        .map((k) => `volcengine_subnet.${k}`)
        .sort(),
    );
    expect(s.group.serverGroups[0]).toMatchObject({ port: 80 });
    // The member's user data: the fleet's settings and the mirror's Node.js.
    expect(s.configuration.userData).toContain(`FLEET_MEMBER='1'\n      FLEET_ROLE='todo-api-cluster-fleet'\n`);
    expect(s.configuration.userData).toContain(`NODE_VERSION='${MIRROR_NODE.version}'`);
    expect(s.configuration.keyPair).toMatchObject({ attribute: "key_pair_name" });
    expect(s.attachmentOf).toBe(s.configuration.resource);
    expect(s.hooks.map((h) => [h.type, h.policy, h.timeoutSeconds]).sort()).toEqual([
      ["SCALE_IN", "CONTINUE", 60],
      ["SCALE_OUT", "REJECT", 900],
    ]);
    expect(s.enabler.group).toBe(s.group.resource);
    expect(s.roles.map((r) => r.name).sort()).toEqual(["todo-api-cluster-backup", "todo-api-cluster-fleet"]);
    expect(s.roleAttachments).toEqual([{ instance: stack.servers[0]!.resource, role: "todo-api-cluster-backup" }]);
  });

  it("finds no scaling group in a stack without the option, and refuses what it cannot read", () => {
    expect(readAutoScaling(stack.tf)).toBeUndefined();
    const expression = scalingStack();
    for (const c of Object.values(expression.resource.volcengine_scaling_configuration) as TfJson[])
      c.user_data = "${base64encode(local.x)}";
    expect(() => readAutoScaling(expression)).toThrow(/a Terraform expression/);
    const two = scalingStack();
    two.resource.volcengine_scaling_group.other = Object.values(two.resource.volcengine_scaling_group)[0];
    expect(() => readAutoScaling(two)).toThrow(/2 volcengine_scaling_group/);
  });
});

describe("the metadata service per instance", () => {
  const metadata = new InstanceMetadata({ host: "127.0.0.1" });
  afterAll(() => metadata.close());

  it("hands the kit the credentials of the role its instance holds now, none before", async () => {
    let role: string | undefined;
    const m = await metadata.serve("172.16.1.3", () => role);
    await expect(roleCredentials({ metadata: m.url, role: "todo-api-cluster-fleet" })).rejects.toThrow(/answered 404/);
    role = "todo-api-cluster-fleet";
    const c = await roleCredentials({ metadata: m.url, role });
    expect(c.id).toBe(metadata.credentials(role).AccessKeyId);
    expect(c.token).toBe(metadata.credentials(role).SessionToken);
    expect(metadata.roleOfKey(c.id)).toBe(role);
    // Another role's path answers nothing; without a token, nothing (IMDSv2 enforced).
    await expect(roleCredentials({ metadata: m.url, role: "todo-api-cluster-backup" })).rejects.toThrow(/404/);
    expect((await fetch(`${m.url}/volcstack/latest/iam/security_credentials/${role}`)).status).toBe(401);
  });

  it("gives each role its own credentials, the same on every instance that holds it", async () => {
    const a = await metadata.serve("172.16.1.11", () => "todo-api-cluster-backup");
    const b = await metadata.serve("172.16.2.12", () => "todo-api-cluster-backup");
    expect(a.url).not.toBe(b.url);
    const [ca, cb] = await Promise.all([
      roleCredentials({ metadata: a.url, role: "todo-api-cluster-backup" }),
      roleCredentials({ metadata: b.url, role: "todo-api-cluster-backup" }),
    ]);
    expect(ca).toEqual(cb);
    expect(ca.id).not.toBe(metadata.credentials("todo-api-cluster-fleet").AccessKeyId);
    expect(metadata.allCredentials()).toHaveLength(2);
  });
});

describe("the local cloud made from the synthesized scaling resources", () => {
  let clock = Date.now();
  let booted: unknown[][] = [];
  let fleet: FleetCloud | undefined;
  const booter: InstanceBooter = {
    run: (r: BootRequest) => void booted.push(["run", r]),
    remove: (id) => void booted.push(["remove", id]),
    stop: (id) => void booted.push(["stop", id]),
    start: (id) => void booted.push(["start", id]),
    attachAddress: () => undefined,
    detachAddress: () => undefined,
  };
  const start = async () => {
    clock = Date.now();
    booted = [];
    const tf = scalingStack();
    fleet = await FleetCloud.start({
      tf,
      scaling: readAutoScaling(tf)!,
      booter,
      now: () => clock,
      transitionMs: 100,
      advance: (ms) => {
        clock += ms;
      },
    });
    return fleet;
  };
  const later = async (ms: number) => {
    clock += ms;
    await fleet!.tick();
  };
  /** A call as the seed makes it (the kit's signer, the seed role's credentials). */
  const asSeed = (service: string, action: string, params: Record<string, unknown>) =>
    callAction({
      endpoint: fleet!.url,
      region: "cn-beijing",
      creds: { id: "AKTPseed", secret: "seed-secret", token: "seed-token" },
      service,
      version: service === "auto_scaling" ? "2020-01-01" : "2020-04-01",
      action,
      params,
    });
  afterEach(() => fleet?.close());

  it("boots the group's instance from the configuration's user data in an app subnet; the seed's role and hook admit it; scale-in holds it 60 s", async () => {
    const f = await start();
    expect(booted).toEqual([]);
    await f.enable();
    const run = booted.find((b) => b[0] === "run")?.[1] as BootRequest;
    expect(run.userData).toContain(`FLEET_ENDPOINT='https://${TOS_HOST}'`);
    expect(run.publicKeys[0]).toMatch(/^ssh-ed25519 /);
    expect(stack.servers.map((s) => s.subnetCidr)).toContain(run.network.subnetCidr);
    await later(200);
    const [held] = await f.instances();
    expect(held).toMatchObject({ InstanceId: run.instanceId, Status: "Pending:Wait" });
    expect(f.roleAt(run.network.privateIpAddress)).toBeUndefined();
    await asSeed("ecs", "AssociateInstancesIamRole", {
      IamRoleName: "todo-api-cluster-fleet",
      InstanceIds: [run.instanceId],
    });
    expect(f.roleAt(run.network.privateIpAddress)).toBe("todo-api-cluster-fleet");
    const waiting = await asSeed("auto_scaling", "DescribeLifecycleActivities", {
      InstanceId: run.instanceId,
      LifecycleActivityStatus: "Waiting",
    });
    await asSeed("auto_scaling", "CompleteLifecycleActivity", {
      LifecycleActivityId: waiting.LifecycleActivities[0].LifecycleActivityId,
      LifecycleActivityPolicy: "CONTINUE",
    });
    expect((await f.instances())[0]!.Status).toBe("InService");
    expect(await f.serverGroupMembers()).toMatchObject([
      { InstanceId: run.instanceId, Ip: run.network.privateIpAddress, Port: 80 },
    ]);

    await f.setDesired(0);
    expect(await f.serverGroupMembers()).toEqual([]);
    expect((await f.instances())[0]!.Status).toBe("Removing:Wait");
    await later(59_000);
    expect(booted.filter((b) => b[0] === "remove")).toEqual([]);
    await later(1_500);
    expect(await f.instances()).toEqual([]);
    expect(booted.filter((b) => b[0] === "remove")).toEqual([["remove", run.instanceId]]);
  });

  it("rejects an instance the seed cannot admit (its role refused) at the hook's timeout, and launches another", async () => {
    const f = await start();
    await f.enable();
    const first = (booted[0]![1] as BootRequest).instanceId;
    await later(200);
    await expect(
      asSeed("ecs", "AssociateInstancesIamRole", { IamRoleName: "a-role-iam-refuses", InstanceIds: [first] }),
    ).rejects.toThrow(/RoleNotExist/);
    await later(899_000);
    expect((await f.instances()).map((i) => [i.InstanceId, i.Status])).toEqual([[first, "Pending:Wait"]]);
    await later(1_500);
    expect(booted.filter((b) => b[0] === "remove")).toEqual([["remove", first]]);
    const activities = await f.activities();
    expect(activities.some((a) => a.StatusCode === "Error" && String(a.ResultMsg).includes(`${first}: Rejected`))).toBe(
      true,
    );
    await later(200);
    const runs = booted.filter((b) => b[0] === "run").map((b) => (b[1] as BootRequest).instanceId);
    expect(runs).toHaveLength(2);
    expect((await f.instances()).map((i) => i.InstanceId)).toEqual([runs[1]]);
  });
});

describe("the bucket's data plane, reached by two roles", () => {
  it("verifies each request with the credentials of the role its key names, and refuses an unknown key", async () => {
    const roles = new InstanceMetadata({ host: "127.0.0.1" });
    const backup = roles.credentials("backup");
    const fleetRole = roles.credentials("fleet");
    const s3 = await startS3StandIn({
      bucket: "fleet-test",
      region: "cn-beijing",
      creds: () => roles.allCredentials(),
    });
    try {
      const send = async (method: string, key: string, body: string, c: Creds) => {
        const url = new URL(`${s3.url}/fleet-test/${key}`);
        const payloadHash = createHash("sha256").update(body).digest("hex");
        const headers = signV4({ method, url, headers: {}, payloadHash, creds: c, region: "cn-beijing" });
        return fetch(url, { method, headers, ...(method === "PUT" ? { body } : {}) });
      };
      const asRole = (c: typeof backup): Creds => ({
        id: c.AccessKeyId,
        secret: c.SecretAccessKey,
        token: c.SessionToken,
      });
      expect((await send("PUT", "fleet/current", "{}", asRole(backup))).status).toBe(200);
      const read = await send("GET", "fleet/current", "", asRole(fleetRole));
      expect(read.status).toBe(200);
      expect(await read.text()).toBe("{}");
      expect((await send("GET", "fleet/current", "", { id: "AKTPother", secret: "x", token: "y" })).status).toBe(403);
      // Virtual-hosted, as the kit asks TOS by default: the bucket in the (signed) Host header.
      const url = new URL(`${s3.url}/fleet/current`);
      const host = `fleet-test.${TOS_HOST}`;
      const headers = signV4({
        method: "GET",
        url: new URL(`https://${host}/fleet/current`),
        headers: {},
        payloadHash: createHash("sha256").update("").digest("hex"),
        creds: asRole(fleetRole),
        region: "cn-beijing",
      });
      const vhost = await new Promise<{ status: number; body: string }>((resolve, reject) =>
        httpRequest(url, { headers: { ...headers, host } }, (res) => {
          let body = "";
          res.on("data", (d) => (body += d));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        })
          .on("error", reject)
          .end(),
      );
      expect(vhost).toEqual({ status: 200, body: "{}" });
      expect((await send("GET", "fleet/current", "", { ...asRole(fleetRole), secret: "wrong" })).status).toBe(403);
    } finally {
      await s3.close();
    }
  });
});
