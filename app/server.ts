import type { AddressInfo } from "node:net";
import { createAdaptorServer } from "@hono/node-server";
import type { Server } from "node:http";
import type { Config } from "./config.js";
import { createApp } from "./create-app.js";
import { openDatabase, type DatabaseHandle } from "./db/database.js";
import { prepareSchema } from "./db/migrator.js";
import { trackConnections, type ConnectionDrain } from "./http/connection-drain.js";
import type { InheritedSocket } from "./http/inherited-socket.js";
import type { Logger } from "./logger.js";
import { createServices, type ServiceOptions } from "./services/index.js";
import type { FileJanitor } from "./services/file-janitor.js";
import type { MailQueue } from "./services/mail-queue.js";

export interface TodoServerOptions extends ServiceOptions {
  /** Use this database instead of opening one from config (tests share one between two apps). */
  database?: DatabaseHandle;
  /** Serve on this inherited listening socket (systemd's, see http/inherited-socket.ts) instead of binding HOST:PORT. */
  listenSocket?: InheritedSocket;
}

/**
 * The API listening on a socket: opens the database, checks (or applies, with MIGRATE_ON_START)
 * its migrations, serves HTTP, and shuts down gracefully (stop accepting, finish in-flight
 * requests, close the pool).
 */
export class TodoServer {
  private closing: Promise<void> | undefined;

  private constructor(
    readonly url: string,
    readonly database: DatabaseHandle,
    private readonly connections: ConnectionDrain,
    private readonly logger: Logger,
    private readonly ownsDatabase: boolean,
    private readonly mailQueue: MailQueue,
    /** Exposed so tests can run it at a chosen moment. */
    readonly fileJanitor: FileJanitor,
  ) {}

  get docsUrl(): string {
    return `${this.url}/docs`;
  }

  static async start(config: Config, logger: Logger, options: TodoServerOptions = {}): Promise<TodoServer> {
    const database =
      options.database ??
      (await openDatabase(config.database, {
        onPoolError: (err) =>
          logger.warn({ err: { message: err.message } }, "idle database connection lost; it will be replaced"),
      }));
    try {
      if (database.kind === "pglite") {
        logger.info(
          { data_dir: database.location },
          `Using the embedded PGlite database in ${database.location} (set DATABASE_URL to use PostgreSQL)`,
        );
      } else {
        logger.info({ database: database.location }, "Using PostgreSQL");
      }
      if (config.jwt.secretSource === "generated") {
        logger.info(
          { file: `${config.dataDir}/jwt-secret` },
          "No JWT_SECRET set: using the development secret kept in DATA_DIR",
        );
      }
      const schema = await prepareSchema(database.sessionDb, { migrate: config.migrateOnStart });
      if (schema.applied.length > 0) logger.info({ migrations: schema.applied }, "database migrated");
      if (schema.ahead.length > 0) {
        // e.g. after a rollback: releases only add what the previous one can ignore (docs/app.md)
        logger.warn(
          { migrations: schema.ahead },
          "the database is ahead of this release (it ran migrations of a newer release); every migration of this release is applied, so starting",
        );
      }
      const services = createServices(config, database, options);
      const store = services.attachments.store;
      if (store) logger.info({ storage: store.kind }, "file attachments enabled");
      services.fileJanitor.start(logger);
      const app = createApp({ config, services, logger });
      const inherited = options.listenSocket;
      const server = createAdaptorServer({ fetch: app.fetch, hostname: config.host }) as Server;
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        // Socket activation (app@.socket): serve on the socket systemd holds; else bind HOST:PORT.
        if (inherited) server.listen({ fd: inherited.fd }, resolve);
        else server.listen({ host: config.host, port: config.port }, resolve);
      });
      if (inherited) logger.info({ fd: inherited.fd }, "serving on the listening socket passed by systemd");
      const connections = trackConnections(server);
      // Keep-alive sockets must not outlive a proxy's idle timeout in the wrong order (Nginx: 60 s).
      server.keepAliveTimeout = 65_000;
      server.headersTimeout = 66_000;
      const address = server.address() as AddressInfo;
      const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
      return new TodoServer(
        `http://${host}:${address.port}`,
        database,
        connections,
        logger,
        !options.database,
        services.mailQueue,
        services.fileJanitor,
      );
    } catch (err) {
      if (!options.database) await database.close().catch(() => {});
      throw err;
    }
  }

  /**
   * Stops accepting (new connections are refused; on an inherited socket they wait in its backlog
   * for the next process), lets in-flight requests and those still
   * arriving on kept-alive connections finish with `Connection: close`, closes connections left
   * idle after `idleGraceMs`, destroys what remains after `drainTimeoutMs`, then closes the
   * database. Idempotent. See http/connection-drain.ts.
   */
  close({
    idleGraceMs = 1_000,
    drainTimeoutMs = 10_000,
  }: {
    idleGraceMs?: number;
    drainTimeoutMs?: number;
  } = {}): Promise<void> {
    this.closing ??= (async () => {
      const { forced } = await this.connections.drain({ idleGraceMs, timeoutMs: drainTimeoutMs });
      if (forced > 0)
        this.logger.warn({ connections: forced }, `connections still open after ${drainTimeoutMs} ms were closed`);
      // Mail asked for before the shutdown still goes out, while the database is open.
      await this.mailQueue.close();
      await this.fileJanitor.close();
      if (this.ownsDatabase) await this.database.close();
      this.logger.info("server stopped");
    })();
    return this.closing;
  }
}
