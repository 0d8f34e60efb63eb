/**
 * Which attributes of a resource are ForceNew (a change replaces the resource), read from the
 * provider's Go source: `terraform providers schema -json` does not carry ForceNew, so the
 * committed `infra/provider/volcengine.force-new.json` records it, and this reader regenerates
 * (or checks) it from a checkout of github.com/volcengine/terraform-provider-volcengine:
 *
 *   npx tsx harness/terraform-schema/force-new-source.ts <provider checkout or bare repo> [tag]
 *
 * prints the JSON for every resource type of infra/provider/volcengine.schema.json. With a bare
 * repository (such as a `git clone --mirror`), the files are read at `tag` (default v0.0.196).
 * Nested attributes are dotted (`eip_billing_config.isp`); an attribute is listed when its own
 * schema says `ForceNew: true` (a commented-out line does not count).
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const PROVIDER_TAG = "v0.0.196";

/** Reads provider files from a work tree, or from a (bare) git repository at a tag. */
export function providerSource(
  root: string,
  tag = PROVIDER_TAG,
): { read(file: string): string; grep(re: string): string[] } {
  const bare = !existsSync(path.join(root, "volcengine/provider.go"));
  const git = (args: string[]) => execFileSync("git", ["-C", root, ...args], { encoding: "utf8", maxBuffer: 64 << 20 });
  return {
    read: (file) => (bare ? git(["show", `${tag}:${file}`]) : readFileSync(path.join(root, file), "utf8")),
    grep: (re) => {
      try {
        const out = bare
          ? git(["grep", "-l", "-E", re, tag, "--", "volcengine"])
          : git(["grep", "-l", "-E", re, "--", "volcengine"]);
        return out
          .split("\n")
          .filter(Boolean)
          .map((l) => (bare ? l.slice(tag.length + 1) : l));
      } catch {
        return [];
      }
    },
  };
}

/** The text between the brace at `open` and its match. */
function braced(text: string, open: number): string {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === '"' || c === "`") {
      // Skip string literals (braces in descriptions); backslash escapes only in "...".
      let j = i + 1;
      while (j < text.length && text[j] !== c) j += text[j] === "\\" && c === '"' ? 2 : 1;
      i = j;
      continue;
    }
    if (c === "{") depth++;
    else if (c === "}" && --depth === 0) return text.slice(open + 1, i);
  }
  throw new Error("unbalanced braces");
}

/** The text of a block at its own level only (nested braces left out). */
function ownLevel(body: string): string {
  let out = "";
  let depth = 0;
  for (const c of body) {
    if (c === "{") depth++;
    else if (c === "}") depth--;
    else if (depth === 0) out += c;
  }
  return out;
}

const SCHEMA_MAP = "map[string]*schema.Schema{";

/** ForceNew attribute paths of one `map[string]*schema.Schema{...}` body (recursing into Elem). */
export function forceNewOf(mapBody: string, prefix = ""): string[] {
  const out: string[] = [];
  const key = /"([a-z0-9_]+)":\s*\{/g;
  let depth = 0;
  let last = 0;
  for (let m = key.exec(mapBody); m; m = key.exec(mapBody)) {
    // Only keys at the map's own level.
    for (const c of mapBody.slice(last, m.index)) depth += c === "{" ? 1 : c === "}" ? -1 : 0;
    last = m.index;
    if (depth !== 0) continue;
    const open = m.index + m[0].length - 1;
    const body = braced(mapBody, open);
    const name = `${prefix}${m[1]}`;
    if (/(^|[\s,])ForceNew:\s*true/.test(ownLevel(body))) out.push(name);
    const nested = body.indexOf(SCHEMA_MAP);
    if (nested >= 0) out.push(...forceNewOf(braced(body, nested + SCHEMA_MAP.length - 1), `${name}.`));
    key.lastIndex = open + body.length + 2;
    last = key.lastIndex;
  }
  return out;
}

/** Go package name (or import alias) -> directory, from provider.go's imports. */
function packageDirs(provider: string): Map<string, string> {
  const dirs = new Map<string, string>();
  for (const m of provider.matchAll(
    /^\s*(\w+\s+)?"github\.com\/volcengine\/terraform-provider-volcengine\/(volcengine\/[\w/]+)"/gm,
  )) {
    dirs.set(m[1]?.trim() ?? path.basename(m[2]!), m[2]!);
  }
  return dirs;
}

/** ForceNew attributes of every given resource type, from the provider's source. */
export function forceNewFromSource(
  root: string,
  types: readonly string[],
  tag = PROVIDER_TAG,
): Record<string, string[]> {
  const src = providerSource(root, tag);
  const provider = src.read("volcengine/provider.go");
  const result: Record<string, string[]> = {};
  for (const type of [...types].sort()) {
    const ctor = new RegExp(`"${type}":\\s*(\\w+)\\.(\\w+)\\(\\)`).exec(provider);
    if (!ctor) throw new Error(`${type} is not registered in provider.go`);
    const dir = packageDirs(provider).get(ctor[1]!);
    const files = src.grep(`func ${ctor[2]}\\(\\)`).filter((f) => path.dirname(f) === dir);
    if (files.length !== 1) throw new Error(`${ctor[1]}.${ctor[2]}: found in ${files.length} files of ${dir}`);
    const text = src
      .read(files[0]!)
      .split("\n")
      .map((l) => l.replace(/^\s*\/\/.*$/, ""))
      .join("\n");
    const start = text.indexOf(SCHEMA_MAP, text.indexOf(`func ${ctor[2]}()`));
    result[type] = forceNewOf(braced(text, start + SCHEMA_MAP.length - 1)).sort();
  }
  return result;
}

/** The resource types of the committed provider schema. */
export function projectResourceTypes(schemaFile: string): string[] {
  const doc = JSON.parse(readFileSync(schemaFile, "utf8")) as {
    provider_schemas: Record<string, { resource_schemas?: Record<string, unknown> }>;
  };
  return Object.values(doc.provider_schemas).flatMap((p) => Object.keys(p.resource_schemas ?? {}));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = process.argv[2];
  if (!root) {
    console.error("usage: npx tsx harness/terraform-schema/force-new-source.ts <provider checkout> [tag]");
    process.exit(2);
  }
  const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
  const types = projectResourceTypes(path.join(repo, "infra/provider/volcengine.schema.json"));
  console.log(JSON.stringify(forceNewFromSource(root, types, process.argv[3]), null, 2));
}
