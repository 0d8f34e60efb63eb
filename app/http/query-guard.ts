import type { MiddlewareHandler } from "hono";
import { badRequest } from "../errors.js";
import type { AppEnv } from "./app-env.js";

/**
 * A query string that cannot be decoded, or names a parameter twice, is malformed (400); whether
 * the values make sense is the route schema's job (422).
 */
export const queryGuard: MiddlewareHandler<AppEnv> = async (c, next) => {
  const url = c.req.url;
  const start = url.indexOf("?");
  if (start !== -1) {
    const seen = new Set<string>();
    for (const part of url.slice(start + 1).split("&")) {
      if (part === "") continue;
      const eq = part.indexOf("=");
      const rawKey = eq === -1 ? part : part.slice(0, eq);
      const rawValue = eq === -1 ? "" : part.slice(eq + 1);
      let key: string;
      try {
        key = decodeURIComponent(rawKey.replace(/\+/g, " "));
        decodeURIComponent(rawValue.replace(/\+/g, " "));
      } catch {
        throw badRequest("The query string is not valid percent-encoding.");
      }
      if (seen.has(key)) throw badRequest(`The query parameter "${key}" is given more than once.`);
      seen.add(key);
    }
  }
  await next();
};
