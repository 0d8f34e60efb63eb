/** The `${ ... }` expressions of a configuration and the references inside them. */
import { asObject, type ProviderSchemaEntry, type ProvidersSchemaJson } from "./schemas.js";

export interface Declared {
  resources: Map<string, Set<string>>; // type -> names
  data: Map<string, Set<string>>;
  variables: Set<string>;
  locals: Set<string>;
}

export function collectDeclared(config: Record<string, unknown>): Declared {
  const names = (v: unknown) => new Set(Object.keys(asObject(v) ?? {}));
  const byType = (v: unknown) => new Map(Object.entries(asObject(v) ?? {}).map(([t, inst]) => [t, names(inst)]));
  return {
    resources: byType(config.resource),
    data: byType(config.data),
    variables: names(config.variable),
    locals: names(config.locals),
  };
}

/** The `${ ... }` parts of a string (handles nested braces; ignores `$${` escapes). */
export function expressions(value: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < value.length; i++) {
    if (value[i] === "$" && value[i + 1] === "$" && value[i + 2] === "{") {
      i += 2;
      continue;
    }
    if (value[i] === "$" && value[i + 1] === "{") {
      let depth = 1;
      let j = i + 2;
      let inString = false;
      for (; j < value.length && depth > 0; j++) {
        const c = value[j];
        if (inString) {
          if (c === "\\") j++;
          else if (c === '"') inString = false;
        } else if (c === '"') inString = true;
        else if (c === "{") depth++;
        else if (c === "}") depth--;
      }
      out.push(value.slice(i + 2, j - 1));
      i = j - 1;
    }
  }
  return out;
}

export function checkReferences(
  expr: string,
  path: string,
  declared: Declared,
  schemas: ProvidersSchemaJson,
  providers: Map<string, ProviderSchemaEntry>,
  report: (path: string, message: string) => void,
): void {
  // Drop string literals so their contents are not mistaken for references.
  const code = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  // A bare name such as ${HOME} is almost always shell text Terraform would try to evaluate.
  const bare = /^\s*([A-Za-z_][\w-]*)\s*$/.exec(code);
  if (bare && !["true", "false", "null"].includes(bare[1]!)) {
    report(
      path,
      `"\${${bare[1]}}" is not a valid Terraform reference (shell syntax? write $\${${bare[1]}} or avoid braces)`,
    );
  }
  const ref = /(?<![\w.])(data\.)?([a-z][a-z0-9]*_[a-z0-9_]+)\.([A-Za-z_][\w-]*)(?:\.([a-z_][a-z0-9_]*))?/g;
  for (const m of code.matchAll(ref)) {
    const [, isData, type, name, attrName] = m;
    if (!isData && ["var", "local", "each", "count", "path", "self"].includes(type!)) continue;
    const pool = isData ? declared.data : declared.resources;
    const kind = isData ? "data source" : "resource";
    const localName = type!.split("_")[0]!;
    if (!providers.has(localName)) continue; // a function call or something not from a provider
    if (!pool.get(type!)?.has(name!)) {
      report(path, `reference to undeclared ${kind} ${isData ? "data." : ""}${type}.${name}`);
      continue;
    }
    if (attrName) {
      const p = providers.get(localName)!;
      const block = (isData ? p.data_source_schemas : p.resource_schemas)?.[type!]?.block;
      if (block && !block.attributes?.[attrName] && !block.block_types?.[attrName]) {
        report(path, `${type}.${name} has no attribute "${attrName}"`);
      }
    }
  }
  for (const m of code.matchAll(/(?<![\w.])var\.([A-Za-z_][\w-]*)/g)) {
    if (!declared.variables.has(m[1]!)) report(path, `reference to undeclared variable var.${m[1]}`);
  }
  for (const m of code.matchAll(/(?<![\w.])local\.([A-Za-z_][\w-]*)/g)) {
    if (!declared.locals.has(m[1]!)) report(path, `reference to undeclared local.${m[1]}`);
  }
  void schemas;
}

export function walkStrings(value: unknown, path: string, visit: (s: string, path: string) => void): void {
  if (typeof value === "string") visit(value, path);
  else if (Array.isArray(value))
    value.forEach((v, i) => {
      walkStrings(v, `${path}[${i}]`, visit);
    });
  else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      if (k === "//") continue;
      walkStrings(v, path ? `${path}.${k}` : k, visit);
    }
  }
}
