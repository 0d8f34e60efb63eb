import { randomBytes } from "node:crypto";
import type { MixAccount } from "./mix.js";

/**
 * The accounts of the capacity mix, made through the API like a mobile app's first session:
 * register, log in, add 20 todos, sync once (the cursor the mix then syncs from).
 */
// biome-ignore lint/suspicious/noExplicitAny: the seed reads fields off bodies whose status it checked
async function call(url: string, method: string, body?: unknown, token?: string): Promise<any> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!res.ok) throw new Error(`${method} ${url} → ${res.status} ${await res.text()}`);
  return res.json();
}

async function seedAccount(base: string): Promise<MixAccount> {
  const username = `mix_${randomBytes(5).toString("hex")}`;
  const password = "capacity bench password";
  await call(`${base}/api/v1/users`, "POST", { username, email: `${username}@example.com`, password });
  const { access_token: token } = await call(`${base}/api/v1/auth/token`, "POST", { username, password });
  const todoIds: number[] = [];
  for (let i = 0; i < 20; i++) {
    const todo = await call(
      `${base}/api/v1/todos`,
      "POST",
      { title: `Todo ${i + 1}`, description: "Seeded by npm run bench -- --nginx" },
      token,
    );
    todoIds.push(todo.id);
  }
  let cursor: string | undefined;
  for (let page = await call(`${base}/api/v1/todos/changes`, "GET", undefined, token); ; ) {
    cursor = page.next_cursor;
    if (!page.has_more) break;
    page = await call(`${base}/api/v1/todos/changes?cursor=${encodeURIComponent(cursor!)}`, "GET", undefined, token);
  }
  return { token, todoIds, cursor: cursor! };
}

export async function seedMixAccounts(base: string, count: number, parallel = 8): Promise<MixAccount[]> {
  const accounts: MixAccount[] = [];
  for (let start = 0; start < count; start += parallel) {
    const batch = Array.from({ length: Math.min(parallel, count - start) }, () => seedAccount(base));
    accounts.push(...(await Promise.all(batch)));
  }
  return accounts;
}
