import { join } from "node:path";
import { type MixAccount, mixLua, writeMixAccounts } from "./mix.js";
import { seedMixAccounts } from "./mix-seed.js";
import { type LoadResult, runLoad } from "./wrk.js";

/** wrk's threads in every capacity run: the same client for every topology. */
export const WRK_THREADS = 2;

/**
 * The mobile mix against one address: seeds `accounts` accounts through it (as apps would make
 * them), then returns the load function the sweep calls: wrk with the mix's Lua, keep-alive
 * connections (as a mobile app's HTTP client keeps them), a random account per request.
 */
export async function mixLoad(
  url: string,
  accounts: number,
  workDir: string,
): Promise<(connections: number, seconds: number) => Promise<LoadResult>> {
  const seeded: MixAccount[] = await seedMixAccounts(url, accounts);
  const accountsFile = join(workDir, `accounts-${new URL(url).host.replace(/[^\w]/g, "_")}.txt`);
  writeMixAccounts(accountsFile, seeded);
  const lua = mixLua();
  return (connections, seconds) =>
    runLoad({
      url,
      connections,
      threads: Math.min(WRK_THREADS, connections),
      durationSeconds: seconds,
      lua,
      env: { BENCH_MIX_ACCOUNTS: accountsFile },
    });
}
