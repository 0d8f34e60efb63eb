import type { DatabaseState } from "../../local-cloud/network-booter.js";
import { ident, literal, type Postgres } from "../rehearse/cluster/rds.js";

/**
 * The stand-in's RDS instance as a real PostgreSQL (the cluster rehearsal's, rds.ts): its accounts
 * as login roles with the passwords the provider sent, its databases with their owners, and the
 * associated allowlists as pg_hba.conf (SCRAM). Each change of the records is applied as the
 * difference to what was applied before.
 */
export interface Applied {
  accounts: Map<string, string>;
  databases: Map<string, string>;
  allowList: string[];
}

/** A role's attributes from RDS's account privileges (`Login,Inherit`, `CreateDB`, `CreateRole`). */
export function roleAttributes(privileges: string): string {
  const has = (p: string) => privileges.split(",").includes(p);
  return [
    has("Login") ? "LOGIN" : "NOLOGIN",
    has("Inherit") ? "INHERIT" : "NOINHERIT",
    has("CreateDB") ? "CREATEDB" : "NOCREATEDB",
    has("CreateRole") ? "CREATEROLE" : "NOCREATEROLE",
  ].join(" ");
}

/**
 * The SQL that takes PostgreSQL from `applied` to `state`, in an order that holds: new roles,
 * then databases (an owner must exist; a dropped owner's databases go first), then dropped roles.
 * A new account without a password is an error: CreateDBAccount always gives one.
 */
export function changeStatements(applied: Applied, state: DatabaseState, passwords: Map<string, string>): string[] {
  const sql: string[] = [];
  for (const a of state.accounts) {
    const attributes = roleAttributes(a.privileges);
    if (!applied.accounts.has(a.name)) {
      const password = passwords.get(a.name);
      if (password === undefined) throw new Error(`account ${a.name}: no password was given`);
      sql.push(`CREATE ROLE ${ident(a.name)} ${attributes} PASSWORD ${literal(password)};`);
    } else if (applied.accounts.get(a.name) !== attributes) sql.push(`ALTER ROLE ${ident(a.name)} ${attributes};`);
  }
  for (const [name] of applied.databases)
    if (!state.databases.some((d) => d.name === name)) sql.push(`DROP DATABASE ${ident(name)} WITH (FORCE);`);
  for (const d of state.databases) {
    if (!applied.databases.has(d.name)) sql.push(`CREATE DATABASE ${ident(d.name)} OWNER ${ident(d.owner)};`);
    else if (applied.databases.get(d.name) !== d.owner)
      sql.push(`ALTER DATABASE ${ident(d.name)} OWNER TO ${ident(d.owner)};`);
  }
  for (const [name] of applied.accounts)
    if (!state.accounts.some((a) => a.name === name)) sql.push(`DROP ROLE ${ident(name)};`);
  return sql;
}

export class RdsServer {
  private readonly passwords = new Map<string, string>();
  private readonly applied: Applied = { accounts: new Map(), databases: new Map(), allowList: [] };

  constructor(readonly pg: Postgres) {}

  async apply(state: DatabaseState): Promise<void> {
    // CREATE DATABASE cannot run in a transaction block: one statement per call.
    for (const statement of changeStatements(this.applied, state, this.passwords)) await this.pg.sql(statement);
    this.applied.accounts = new Map(state.accounts.map((a) => [a.name, roleAttributes(a.privileges)]));
    this.applied.databases = new Map(state.databases.map((d) => [d.name, d.owner]));
    const allow = [...state.allowList].sort();
    if (allow.join() !== this.applied.allowList.join()) {
      await this.pg.setAllowList(allow);
      this.applied.allowList = allow;
    }
  }

  /** ResetDBAccount: a role that exists gets it at once; a new one when it is created. */
  async setPassword(account: string, password: string): Promise<void> {
    this.passwords.set(account, password);
    if (this.applied.accounts.has(account))
      await this.pg.sql(`ALTER ROLE ${ident(account)} PASSWORD ${literal(password)};`);
  }
}
