/**
 * The accounts the route bench loads: a reader with one page of todos, a syncing client with
 * 1,000, and fresh writers, made through the API itself.
 */
import { randomBytes } from "node:crypto";

// biome-ignore lint/suspicious/noExplicitAny: the bench reads fields off bodies whose status it checked
async function json(url: string, init: RequestInit & { json?: unknown; token?: string } = {}): Promise<any> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  const res = await fetch(url, {
    ...init,
    headers,
    body: init.json === undefined ? undefined : JSON.stringify(init.json),
  });
  if (!res.ok) throw new Error(`${init.method ?? "GET"} ${url} → ${res.status} ${await res.text()}`);
  return res.status === 204 ? undefined : res.json();
}

export async function login(base: string): Promise<string> {
  const username = `bench_${randomBytes(4).toString("hex")}`;
  const password = "bench password 123";
  await json(`${base}/api/v1/users`, {
    method: "POST",
    json: { username, email: `${username}@example.com`, password },
  });
  // ACCESS_TOKEN_TTL_SECONDS=3600 (below) keeps the token valid for the whole run.
  const tokens = await json(`${base}/api/v1/auth/token`, { method: "POST", json: { username, password } });
  return tokens.access_token;
}

/** The reader: one user with exactly 20 todos (a first page of a typical list). */
export async function seed(base: string): Promise<{ token: string; todoId: number }> {
  const token = await login(base);
  let todoId = 0;
  for (let i = 0; i < 20; i++) {
    const todo = await json(`${base}/api/v1/todos`, {
      method: "POST",
      token,
      json: {
        title: `Todo ${i + 1}`,
        description: "Seeded by npm run bench",
        due_date: new Date(Date.now() + i * 3_600_000).toISOString(),
      },
    });
    todoId = todo.id;
  }
  return { token, todoId };
}

/** The syncing client: 1,000 todos, created 16 at a time. */
export async function seedSync(base: string): Promise<string> {
  const token = await login(base);
  for (let batch = 0; batch < 1000; batch += 16) {
    await Promise.all(
      Array.from({ length: Math.min(16, 1000 - batch) }, (_, i) =>
        json(`${base}/api/v1/todos`, {
          method: "POST",
          token,
          json: { title: `Synced ${batch + i + 1}`, description: "Seeded by npm run bench" },
        }),
      ),
    );
  }
  return token;
}
