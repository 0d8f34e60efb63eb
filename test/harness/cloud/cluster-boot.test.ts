import pg from "pg";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { DatabaseState, ListenerForwarding, LoadBalancerForwarding } from "../../../local-cloud/network-booter.js";
import { forwardedListener, listenerSpecOf, membersOf } from "../../../harness/cloud/clb-forwarder.js";
import { hostsWithBlock } from "../../../harness/cloud/ecs-booter.js";
import { changeStatements, RdsServer, roleAttributes } from "../../../harness/cloud/rds-server.js";
import type { Cleanup } from "../../../harness/rehearse/cleanup.js";
import { LoadBalancer } from "../../../harness/rehearse/cluster/load-balancer.js";
import type { Postgres } from "../../../harness/rehearse/cluster/rds.js";

/**
 * The parts of rehearse:cloud's booted cluster that need neither root nor containers: HAProxy's
 * configuration from the stand-in's CLB records, the SQL that makes PostgreSQL what the RDS
 * records say (run against the suite's real PostgreSQL), and the VPC's DNS lines in /etc/hosts.
 * The whole (namespaces, nspawn, the real provider) runs in `npm run rehearse:cloud`.
 */
const listener = (over: Partial<ListenerForwarding> = {}): ListenerForwarding => ({
  listenerId: "lsn-1",
  protocol: "HTTP",
  port: 80,
  enabled: "on",
  scheduler: "wlc",
  healthCheck: {
    enabled: "on",
    method: "GET",
    uri: "/readyz",
    httpCode: "http_2xx",
    interval: 2,
    timeout: 2,
    healthyThreshold: 2,
    unhealthyThreshold: 2,
  },
  servers: [
    { instanceId: "i-a", ip: "172.16.1.3", port: 80, weight: 100 },
    { instanceId: "i-b", ip: "172.16.2.3", port: 80, weight: 100 },
  ],
  ...over,
});
const fw = (...listeners: ListenerForwarding[]): LoadBalancerForwarding => ({
  vpcId: "vpc-1",
  type: "public",
  address: "198.19.255.2",
  listeners,
});

describe("the stand-in's CLB as HAProxy", () => {
  const noCleanup = { add: () => undefined } as unknown as Cleanup;
  const render = (l: ListenerForwarding) => {
    const lb = new LoadBalancer("ns", "/nonexistent", listenerSpecOf(l), noCleanup);
    (lb as unknown as { members: unknown[] }).members = membersOf(l);
    return lb.render();
  };

  it("listens on the listener's port, checks its URI at its interval and thresholds, forwards to the group's private addresses", () => {
    const cfg = render(forwardedListener(fw(listener()))!);
    expect(cfg).toContain("bind :80");
    expect(cfg).toContain("balance leastconn");
    expect(cfg).toContain("option httpchk GET /readyz");
    expect(cfg).toContain("http-check expect rstatus ^2[0-9][0-9]$");
    expect(cfg).toContain("retries 0");
    expect(cfg).toContain("server i-a-80 172.16.1.3:80 weight 100 check inter 2s rise 2 fall 2");
    expect(cfg).toContain("server i-b-80 172.16.2.3:80 weight 100 check inter 2s rise 2 fall 2");
  });

  it("takes Volcengine's defaults for health-check fields the records leave out", () => {
    const l = listener({ healthCheck: { enabled: "on", uri: "/readyz" }, servers: [] });
    expect(listenerSpecOf(l).healthCheck).toMatchObject({
      interval: 2,
      timeout: 2,
      healthy_threshold: 3,
      un_healthy_threshold: 3,
    });
  });

  it("forwards nothing without an enabled listener; refuses what is not rehearsed rather than guessing", () => {
    expect(forwardedListener(fw())).toBeUndefined();
    expect(forwardedListener(fw(listener({ enabled: "off" })))).toBeUndefined();
    expect(() => forwardedListener(fw(listener({ protocol: "HTTPS", port: 443 })))).toThrow(/HTTPS is not rehearsed/);
    expect(() => forwardedListener(fw(listener(), listener({ listenerId: "lsn-2", port: 8080 })))).toThrow(
      /one per load balancer/,
    );
    expect(() => render(listener({ scheduler: "wrr" }))).toThrow(/scheduler wrr/);
    expect(() => render(listener({ healthCheck: { enabled: "off" } }))).toThrow(/not enabled/);
  });
});

const state = (over: Partial<DatabaseState> = {}): DatabaseState => ({
  vpcId: "vpc-1",
  subnetCidr: "172.16.1.0/24",
  domain: "postgres-1.rds-pg.ivolces.com",
  address: "172.16.1.250",
  port: 5432,
  status: "Running",
  accounts: [],
  databases: [],
  allowList: [],
  ...over,
});

describe("the stand-in's RDS as PostgreSQL: the SQL from the records", () => {
  it("maps RDS account privileges to role attributes", () => {
    expect(roleAttributes("Login,Inherit")).toBe("LOGIN INHERIT NOCREATEDB NOCREATEROLE");
    expect(roleAttributes("")).toBe("NOLOGIN NOINHERIT NOCREATEDB NOCREATEROLE");
    expect(roleAttributes("Login,CreateDB,CreateRole")).toBe("LOGIN NOINHERIT CREATEDB CREATEROLE");
  });

  it("creates roles before the databases they own and drops a role after its databases", () => {
    const empty = { accounts: new Map(), databases: new Map(), allowList: [] };
    const full = state({
      accounts: [{ name: "todo_app", type: "Normal", privileges: "Login,Inherit" }],
      databases: [{ name: "todo", owner: "todo_app" }],
    });
    expect(changeStatements(empty, full, new Map([["todo_app", "it's"]]))).toEqual([
      `CREATE ROLE "todo_app" LOGIN INHERIT NOCREATEDB NOCREATEROLE PASSWORD 'it''s';`,
      `CREATE DATABASE "todo" OWNER "todo_app";`,
    ]);
    const applied = {
      accounts: new Map([["todo_app", "LOGIN INHERIT NOCREATEDB NOCREATEROLE"]]),
      databases: new Map([["todo", "todo_app"]]),
      allowList: [],
    };
    expect(changeStatements(applied, full, new Map())).toEqual([]);
    expect(changeStatements(applied, state(), new Map())).toEqual([
      `DROP DATABASE "todo" WITH (FORCE);`,
      `DROP ROLE "todo_app";`,
    ]);
    expect(() => changeStatements(empty, full, new Map())).toThrow(/no password/);
  });
});

describe("the stand-in's RDS against a real PostgreSQL", () => {
  const admin = inject("postgresAdminUrl");
  const suffix = randomBytes(3).toString("hex");
  const account = `lc_app_${suffix}`;
  const database = `lc_db_${suffix}`;
  const allowLists: string[][] = [];
  let client: pg.Client;
  let server: RdsServer;
  beforeAll(async () => {
    client = new pg.Client({ connectionString: admin });
    await client.connect();
    const pgLike: Postgres = {
      address: "127.0.0.1",
      port: 5432,
      dataDir: "", // the suite's own cluster: nothing here reads its processes
      sql: async (q) => {
        const r = await client.query(q);
        return (Array.isArray(r) ? r : [r])
          .flatMap((x) => x.rows.map((row: Record<string, unknown>) => Object.values(row).join("|")))
          .join("\n");
      },
      setAllowList: async (cidrs) => void allowLists.push([...cidrs]),
      stop: async () => undefined,
    };
    server = new RdsServer(pgLike);
  });
  afterAll(async () => {
    await client.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    await client.query(`DROP ROLE IF EXISTS "${account}"`);
    await client.end();
  });
  const role = async () =>
    (await client.query("SELECT rolcanlogin, rolinherit, rolpassword FROM pg_authid WHERE rolname = $1", [account]))
      .rows[0];

  it("makes the account a login role with its password, the database owned by it, the allowlist pg_hba's; then undoes them", async () => {
    await server.setPassword(account, "Aa1!first");
    const full = state({
      accounts: [{ name: account, type: "Normal", privileges: "Login,Inherit" }],
      databases: [{ name: database, owner: account }],
      allowList: ["172.16.2.0/24", "172.16.1.0/24"],
    });
    await server.apply(full);
    const created = await role();
    expect(created).toMatchObject({ rolcanlogin: true, rolinherit: true });
    expect(created.rolpassword).toMatch(/^SCRAM-SHA-256\$/);
    const owner = await client.query("SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1", [
      database,
    ]);
    expect(owner.rows[0]?.owner).toBe(account);
    expect(allowLists).toEqual([["172.16.1.0/24", "172.16.2.0/24"]]);
    // The same records again change nothing; ResetDBAccount changes the password at once.
    await server.apply(full);
    expect(allowLists).toHaveLength(1);
    await server.setPassword(account, "Bb2!second");
    expect((await role()).rolpassword).not.toBe(created.rolpassword);
    await server.apply(state());
    expect(await role()).toBeUndefined();
    expect((await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [database])).rowCount).toBe(0);
    expect(allowLists.at(-1)).toEqual([]);
  });
});

describe("the VPC's DNS names in a server's /etc/hosts", () => {
  it("adds, replaces and removes its own block and leaves the rest", () => {
    const base = "127.0.0.1 localhost\n::1 localhost\n";
    const one = hostsWithBlock(base, ["172.16.1.250 postgres-1.rds-pg.ivolces.com"]);
    expect(one).toBe(
      `${base}# local-cloud: the VPC's private DNS\n172.16.1.250 postgres-1.rds-pg.ivolces.com\n# local-cloud: end\n`,
    );
    expect(hostsWithBlock(one, ["172.16.1.249 postgres-2.rds-pg.ivolces.com"])).toBe(
      `${base}# local-cloud: the VPC's private DNS\n172.16.1.249 postgres-2.rds-pg.ivolces.com\n# local-cloud: end\n`,
    );
    expect(hostsWithBlock(one, [])).toBe(base);
    expect(hostsWithBlock("127.0.0.1 localhost", ["a b"])).toContain("127.0.0.1 localhost\n# local-cloud");
  });
});
