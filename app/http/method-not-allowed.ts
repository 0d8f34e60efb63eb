import type { Context, MiddlewareHandler } from "hono";
import { AppError } from "../errors.js";

interface RouteEntry {
  method: string;
  path: string;
}

interface Pattern {
  regex: RegExp;
  static: boolean;
  methods: Set<string>;
}

/**
 * The methods each declared path answers, so a request for a path that exists with a method it
 * does not declare is 405 with `Allow` (RFC 9110 §15.5.6) rather than 404. A static path wins over
 * a parameterised one (`/todos/changes` is not `/todos/{id}`). HEAD is answered wherever GET is
 * (Hono runs the GET handler without the body).
 */
export function methodsByPath(routes: readonly RouteEntry[]): (path: string) => string[] | undefined {
  const patterns = new Map<string, Pattern>();
  for (const { method, path } of routes) {
    if (method === "ALL" || path.includes("*")) continue; // middleware, not a route
    let p = patterns.get(path);
    if (!p) {
      const source = path
        .split("/")
        .map((seg) => (seg.startsWith(":") ? "[^/]+" : seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
        .join("/");
      p = { regex: new RegExp(`^${source}$`), static: !path.includes(":"), methods: new Set() };
      patterns.set(path, p);
    }
    p.methods.add(method);
    if (method === "GET") p.methods.add("HEAD");
  }
  const all = [...patterns.values()];
  return (path) => {
    const matches = all.filter((p) => p.regex.test(path));
    if (matches.length === 0) return undefined;
    const chosen = matches.some((p) => p.static) ? matches.filter((p) => p.static) : matches;
    return [...new Set(chosen.flatMap((p) => [...p.methods]))].sort();
  };
}

export class MethodNotAllowed extends AppError {
  constructor(readonly allow: string[]) {
    super("method_not_allowed", `This path answers ${allow.join(", ")} only.`);
  }
}

/**
 * Before any route runs: a path that exists but does not declare the method is 405 at once, also
 * where a parameterised route would otherwise take the request (`PATCH /todos/changes` is not
 * `PATCH /todos/{id}`). The table is built on the first request, when every route is registered.
 */
export function methodGuard(routes: () => readonly RouteEntry[]): MiddlewareHandler {
  let lookup: ((path: string) => string[] | undefined) | undefined;
  return async (c, next) => {
    lookup ??= methodsByPath(routes());
    const allow = lookup(c.req.path);
    if (allow && !allow.includes(c.req.method)) throw new MethodNotAllowed(allow);
    await next();
  };
}

/** The not-found handler of the app: 405 with Allow for a known path, else 404. */
export function notFoundOr405(lookup: (path: string) => string[] | undefined, c: Context): AppError {
  const allow = lookup(c.req.path);
  if (allow && !allow.includes(c.req.method)) return new MethodNotAllowed(allow);
  return new AppError("not_found", "No such route.");
}
