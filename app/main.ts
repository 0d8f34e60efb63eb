import { type Config, ConfigError, loadConfig } from "./config.js";
import { inheritedSocket } from "./http/inherited-socket.js";
import { createLogger } from "./logger.js";
import { TodoServer } from "./server.js";

/**
 * Process entry for `npm start`, `npm run dev` and the production bundle (dist/server.mjs):
 * read the configuration, start the server, stop gracefully on SIGTERM/SIGINT.
 */
/** How long in-flight requests may take after SIGTERM (the unit's TimeoutStopSec is 30 s). */
const DRAIN_TIMEOUT_MS = 10_000;

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger(config);
  let server: TodoServer;
  try {
    // Under systemd the socket unit owns the listening socket (app@.socket): a restart then
    // loses no connection that arrives meanwhile. Without one (npm start, tests) it binds HOST:PORT.
    server = await TodoServer.start(config, logger, { listenSocket: inheritedSocket() });
  } catch (err) {
    logger.fatal({ err }, "could not start");
    logger.flush();
    process.exitCode = 1;
    return;
  }
  logger.info({ url: server.url, docs: server.docsUrl }, "listening");
  if (config.env !== "production") {
    process.stdout.write(`\nTodo API listening on ${server.url}\nAPI docs:  ${server.docsUrl}\n\n`);
  }

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    const force = setTimeout(() => {
      logger.error("in-flight requests did not finish in time; exiting");
      logger.flush();
      process.exit(1);
    }, DRAIN_TIMEOUT_MS + 5_000);
    force.unref();
    server.close({ drainTimeoutMs: DRAIN_TIMEOUT_MS }).then(
      () => logger.flush(() => process.exit(0)),
      (err) => {
        logger.error({ err }, "error while shutting down");
        logger.flush(() => process.exit(1));
      },
    );
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

void main();
