import pg from "pg";
import { afterAll, beforeAll } from "vitest";
import {
  client,
  startTestApp,
  type Client,
  type StartOptions,
  type TestApp,
} from "../../harness/support/app-harness.js";
import { createTestDatabase } from "./database.js";

/** How one server of the suite is started (its database is the suite's); a function is called at start. */
export type SuiteServer = Omit<StartOptions, "databaseUrl"> | (() => Omit<StartOptions, "databaseUrl">);

export interface ApiSuite {
  /** The suite's own database. */
  readonly dbUrl: string;
  /** The first server's URL, for requests the clients cannot send (raw methods and headers). */
  readonly url: string;
  /** A client of the first server, and one of each server in the order given. */
  readonly api: Client;
  readonly clients: readonly Client[];
  /** A connection to the database, to look behind the API. */
  readonly sql: Pick<pg.Client, "query">;
}

/**
 * What the API suites share: a fresh database, the servers on it (one by default; more for
 * what two instances behind a load balancer must agree on), a client of each and a SQL
 * connection, all closed and dropped after the suite. Call it at the top of a test file: it
 * registers the suite's beforeAll/afterAll, and the clients can be kept in constants at once
 * (each call reads its server's URL). Hooks registered before it run before it (e.g. an SMTP
 * sink a server's settings name).
 */
export function apiSuite(...servers: SuiteServer[]): ApiSuite {
  const specs = servers.length > 0 ? servers : [{}];
  const apps: TestApp[] = [];
  let db: { url: string; drop: () => Promise<void> } | undefined;
  let connection: pg.Client | undefined;

  beforeAll(async () => {
    db = await createTestDatabase();
    for (const spec of specs)
      apps.push(await startTestApp({ ...(typeof spec === "function" ? spec() : spec), databaseUrl: db.url }));
    connection = new pg.Client({ connectionString: db.url });
    await connection.connect();
  });
  afterAll(async () => {
    await connection?.end();
    for (const app of [...apps].reverse()) await app.close();
    await db?.drop();
  });

  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined)
      throw new Error(`${what} is used before the suite started (use it inside a test or a hook)`);
    return value;
  };
  const clients = specs.map((_, i) => client(() => started(apps[i], "a server").url));
  const query = ((...args: unknown[]) =>
    (started(connection, "the SQL connection").query as (...a: unknown[]) => unknown)(...args)) as pg.Client["query"];
  return {
    get dbUrl() {
      return started(db, "the database").url;
    },
    get url() {
      return started(apps[0], "a server").url;
    },
    api: clients[0]!,
    clients,
    sql: { query },
  };
}
