import { writeFileSync } from "node:fs";

/**
 * A mobile app's traffic, as wrk requests: many accounts, each request from a random one, in the
 * proportions of an app that opens to its list, looks at a todo, edits, adds, and syncs its
 * offline copy. The shares are a stated assumption, not a measurement of real users: change
 * MIX and the table says which mix it measured.
 */
export const MIX = [
  { kind: "list", percent: 35, what: "GET /api/v1/todos?limit=20" },
  { kind: "get", percent: 25, what: "GET /api/v1/todos/{id}" },
  { kind: "update", percent: 15, what: "PATCH /api/v1/todos/{id} (completed)" },
  {
    kind: "sync",
    percent: 15,
    what: "GET /api/v1/todos/changes?cursor=… (from the cursor of the account's last sync)",
  },
  { kind: "create", percent: 10, what: "POST /api/v1/todos" },
] as const;

export interface MixAccount {
  token: string;
  todoIds: number[];
  /** The cursor of the account's last sync (next_cursor after its seeded todos). */
  cursor: string;
}

export function describeMix(): string {
  return MIX.map((m) => `${m.percent} % ${m.what}`).join(", ");
}

/** One line per account for the Lua below: token, cursor, then its todo ids. */
export function mixAccountsFile(accounts: MixAccount[]): string {
  for (const a of accounts) {
    if (!/^[\w.-]+$/.test(a.token) || !/^[\w.~%-]+$/.test(a.cursor) || a.todoIds.length === 0)
      throw new Error("an account for the mix needs a token, a URL-safe cursor and at least one todo");
  }
  return accounts.map((a) => `${a.token} ${encodeURIComponent(a.cursor)} ${a.todoIds.join(" ")}\n`).join("");
}

export function writeMixAccounts(path: string, accounts: MixAccount[]): void {
  writeFileSync(path, mixAccountsFile(accounts), { mode: 0o600 });
}

/** Cumulative thresholds of MIX as a Lua table literal, e.g. {35,"list"},{60,"get"},… */
function luaThresholds(): string {
  let sum = 0;
  return MIX.map((m) => {
    sum += m.percent;
    return `{${sum},"${m.kind}"}`;
  }).join(",");
}

/** The Lua wrk runs after the reporter (wrk.ts): reads the accounts, builds every request. */
export function mixLua(): string {
  if (MIX.reduce((s, m) => s + m.percent, 0) !== 100) throw new Error("the mix's shares must add up to 100 %");
  return `
local accounts = {}
for line in io.lines(os.getenv("BENCH_MIX_ACCOUNTS")) do
  local fields = {}
  for field in line:gmatch("%S+") do fields[#fields + 1] = field end
  local ids = {}
  for i = 3, #fields do ids[#ids + 1] = fields[i] end
  accounts[#accounts + 1] = { auth = "Bearer " .. fields[1], cursor = fields[2], ids = ids }
end
local thresholds = {${luaThresholds()}}
local thread_number = 0
function setup(thread)
  thread_number = thread_number + 1
  thread:set("thread_seed", thread_number)
end
function init(args)
  math.randomseed(os.time() * 1000 + (thread_seed or 0))
end
function request()
  local a = accounts[math.random(#accounts)]
  local headers = { ["Authorization"] = a.auth, ["Content-Type"] = "application/json" }
  local roll = math.random(100)
  local kind
  for _, t in ipairs(thresholds) do
    if roll <= t[1] then kind = t[2] break end
  end
  local id = a.ids[math.random(#a.ids)]
  if kind == "list" then return wrk.format("GET", "/api/v1/todos?limit=20", headers) end
  if kind == "get" then return wrk.format("GET", "/api/v1/todos/" .. id, headers) end
  if kind == "update" then
    local done = math.random(2) == 1 and "true" or "false"
    return wrk.format("PATCH", "/api/v1/todos/" .. id, headers, '{"completed":' .. done .. '}')
  end
  if kind == "sync" then return wrk.format("GET", "/api/v1/todos/changes?cursor=" .. a.cursor, headers) end
  return wrk.format("POST", "/api/v1/todos", headers, '{"title":"Added on the phone","description":"npm run bench -- --nginx"}')
end
`;
}
