import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { sql } from "kysely";
import { type Config, ConfigError, loadConfig } from "./config.js";
import { openDatabase } from "./db/database.js";
import { prepareSchema } from "./db/migrator.js";
import { AppError } from "./errors.js";
import { type Actor, AdminService } from "./services/admin.service.js";

/**
 * `npm run admin -- promote|demote <username>` and `… list` (bundled: `node admin.mjs …`, which the
 * server kit's `todo-admin` runs in the app's environment). The only way to make the first
 * administrator: the public API never grants a role to someone who is not one already. Uses the
 * same configuration as the server and writes the audit log like the admin routes (actor: none,
 * from `cli`).
 */
const USAGE =
  "usage: admin promote <username> | demote <username> | list\n" +
  "  promote <username>  make the account an administrator (username or e-mail)\n" +
  "  demote <username>   make an administrator a user again (never the last enabled one)\n" +
  "  list                the administrators";

const CLI_ACTOR: Actor = { id: null, username: null, address: "cli" };

export async function runAdminCli(
  argv: string[],
  config?: Config,
  out: (s: string) => void = (s) => process.stdout.write(s),
  err: (s: string) => void = (s) => process.stderr.write(s),
): Promise<number> {
  const [command, name, ...extra] = argv;
  const needsName = command === "promote" || command === "demote";
  if (!(needsName || command === "list") || (needsName && !name) || extra.length > 0 || (!needsName && name)) {
    err(`${USAGE}\n`);
    return 2;
  }
  try {
    config ??= loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      err(`${e.message}\n`);
      return 1;
    }
    throw e;
  }
  const handle = await openDatabase(config.database);
  try {
    // The same check the server makes at start: never write to a schema this release does not expect.
    await prepareSchema(handle.sessionDb, { migrate: false });
    const admin = new AdminService(handle.db);
    if (command === "list") {
      const rows = await handle.db
        .selectFrom("users")
        .select(["id", "username", "email", sql<boolean>`disabled_at is not null`.as("disabled")])
        .where("role", "=", "admin")
        .orderBy("id")
        .execute();
      if (rows.length === 0) out("no administrators yet (make one: promote <username>)\n");
      for (const r of rows) out(`${r.id}\t${r.username}\t${r.email}${r.disabled ? "\t(disabled)" : ""}\n`);
      return 0;
    }
    const user = await handle.db
      .selectFrom("users")
      .select(["id", "username", "role"])
      .where((eb) =>
        eb.or([eb(sql`lower(username)`, "=", name!.toLowerCase()), eb(sql`lower(email)`, "=", name!.toLowerCase())]),
      )
      .executeTakeFirst();
    if (!user) {
      err(`no account named ${JSON.stringify(name)}: register it first (POST /api/v1/users), then promote it\n`);
      return 1;
    }
    const role = command === "promote" ? "admin" : "user";
    if (user.role === role) {
      out(
        `${user.username} is already ${role === "admin" ? "an administrator" : "not an administrator"}; nothing changed\n`,
      );
      return 0;
    }
    await admin.setRole(CLI_ACTOR, user.id, role);
    out(
      `${user.username} is ${role === "admin" ? "now an administrator" : "no longer an administrator"} (recorded in the audit log)\n`,
    );
    return 0;
  } catch (e) {
    if (e instanceof AppError) {
      err(`${command} refused: ${e.message}\n`);
      return 1;
    }
    err(`${command} failed: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  } finally {
    await handle.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  runAdminCli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`admin failed: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
