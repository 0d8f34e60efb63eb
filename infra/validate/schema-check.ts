/**
 * Checks a synthesized cdk.tf.json against provider schemas (the JSON of
 * `terraform providers schema -json`): the offline stand-in for `terraform validate`, which
 * needs provider binaries no machine here can download.
 *
 * What it checks, for every resource and data source:
 * - the type exists in its provider's schema, and its provider is declared in required_providers;
 * - every argument is known; computed-only attributes are not set; required attributes and
 *   blocks (min_items) are present; block nesting (single/list/set/map) and max_items are right;
 * - values have the right type (Terraform's own conversions: "22" is a number, 22 a string),
 *   where a string containing "${" is an expression and accepted for any type;
 * - references inside expressions (`volcengine_vpc.x.id`, `data.…`, `var.…`, `local.…`) point
 *   at something that exists, and resource attributes they read exist in the schema;
 * - provider configuration blocks against the provider schema.
 */
import { readFileSync } from "node:fs";

type CtyType = string | [string, ...unknown[]];

interface SchemaAttribute {
  type?: CtyType;
  required?: boolean;
  optional?: boolean;
  computed?: boolean;
  sensitive?: boolean;
}

interface SchemaBlockType {
  nesting_mode: "single" | "list" | "set" | "map" | "group";
  block: SchemaBlock;
  min_items?: number;
  max_items?: number;
}

export interface SchemaBlock {
  attributes?: Record<string, SchemaAttribute>;
  block_types?: Record<string, SchemaBlockType>;
}

interface ProviderSchemaEntry {
  provider?: { block: SchemaBlock };
  resource_schemas?: Record<string, { block: SchemaBlock }>;
  data_source_schemas?: Record<string, { block: SchemaBlock }>;
}

export interface ProvidersSchemaJson {
  provider_schemas: Record<string, ProviderSchemaEntry>;
}

export interface SchemaProblem {
  /** JSON path in cdk.tf.json, e.g. resource.volcengine_vpc.network_vpc_1234.cidr_block */
  path: string;
  message: string;
}

const RESOURCE_META = new Set([
  "count",
  "for_each",
  "provider",
  "depends_on",
  "lifecycle",
  "provisioner",
  "connection",
  "//",
]);
const DATA_META = new Set(["count", "for_each", "provider", "depends_on", "lifecycle", "//"]);
const TOP_LEVEL = new Set([
  "//",
  "terraform",
  "provider",
  "resource",
  "data",
  "output",
  "variable",
  "locals",
  "module",
  "moved",
  "import",
  "check",
]);
const PROVISIONERS = new Set(["file", "local-exec", "remote-exec"]);

/** Merges several `terraform providers schema -json` documents (e.g. volcengine + null). */
export function loadProviderSchemas(...files: string[]): ProvidersSchemaJson {
  const merged: ProvidersSchemaJson = { provider_schemas: {} };
  for (const f of files) {
    const doc = JSON.parse(readFileSync(f, "utf8")) as ProvidersSchemaJson;
    Object.assign(merged.provider_schemas, doc.provider_schemas);
  }
  return merged;
}

export function checkTerraformJson(config: Record<string, unknown>, schemas: ProvidersSchemaJson): SchemaProblem[] {
  const problems: SchemaProblem[] = [];
  const report = (path: string, message: string) => problems.push({ path, message });

  for (const key of Object.keys(config)) {
    if (!TOP_LEVEL.has(key)) report(key, "unknown top-level key");
  }

  // Local provider name -> provider schema, from terraform.required_providers.
  const requiredProviders = (asObject((config.terraform as Record<string, unknown> | undefined)?.required_providers) ??
    {}) as Record<string, { source?: string }>;
  const providerByLocalName = new Map<string, ProviderSchemaEntry>();
  for (const [localName, req] of Object.entries(requiredProviders)) {
    const fqpn = fullyQualified(req.source ?? `hashicorp/${localName}`);
    const schema = schemas.provider_schemas[fqpn];
    if (!schema) report(`terraform.required_providers.${localName}`, `no schema for provider ${fqpn}`);
    else providerByLocalName.set(localName, schema);
  }

  // Provider configurations.
  for (const [localName, configs] of Object.entries(asObject(config.provider) ?? {})) {
    const schema = providerByLocalName.get(localName);
    if (!schema) {
      report(`provider.${localName}`, "provider is not declared in terraform.required_providers");
      continue;
    }
    const list = Array.isArray(configs) ? configs : [configs];
    list.forEach((body, i) => {
      const path = `provider.${localName}[${i}]`;
      const obj = asObject(body);
      if (!obj) {
        report(path, "must be an object");
        return;
      }
      const { alias: _alias, ...rest } = obj;
      checkBlock(rest, schema.provider?.block ?? {}, path, report, new Set(["//"]));
    });
  }

  const declared = collectDeclared(config);

  for (const kind of ["resource", "data"] as const) {
    for (const [type, instances] of Object.entries(asObject(config[kind]) ?? {})) {
      const localName = type.split("_")[0]!;
      const provider = providerByLocalName.get(localName);
      const base = `${kind}.${type}`;
      if (!provider) {
        report(base, `provider "${localName}" is not declared in terraform.required_providers`);
        continue;
      }
      const schemaMap = kind === "resource" ? provider.resource_schemas : provider.data_source_schemas;
      const schema = schemaMap?.[type];
      if (!schema) {
        report(base, `unknown ${kind === "resource" ? "resource" : "data source"} type "${type}"`);
        continue;
      }
      for (const [name, body] of Object.entries(asObject(instances) ?? {})) {
        const path = `${base}.${name}`;
        const obj = asObject(body);
        if (!obj) {
          report(path, "must be an object");
          continue;
        }
        checkBlock(obj, schema.block, path, report, kind === "resource" ? RESOURCE_META : DATA_META);
        if (kind === "resource") checkProvisioners(obj, path, report);
        checkMeta(obj, schema.block, path, declared, report);
      }
    }
  }

  for (const [name, body] of Object.entries(asObject(config.output) ?? {})) {
    if (!asObject(body) || !("value" in (body as object))) report(`output.${name}`, "output needs a value");
  }

  // References inside every expression string.
  walkStrings(config, "", (value, path) => {
    for (const expr of expressions(value)) checkReferences(expr, path, declared, schemas, providerByLocalName, report);
  });

  return problems;
}

function checkBlock(
  body: Record<string, unknown>,
  block: SchemaBlock,
  path: string,
  report: (path: string, message: string) => void,
  allowedMeta: Set<string> = new Set(["//"]),
): void {
  const attributes = block.attributes ?? {};
  const blockTypes = block.block_types ?? {};

  for (const [key, value] of Object.entries(body)) {
    const p = `${path}.${key}`;
    if (allowedMeta.has(key)) continue;
    const attr = attributes[key];
    if (attr) {
      if (attr.computed && !attr.optional && !attr.required) {
        report(p, "is computed-only: the provider sets it, the configuration must not");
        continue;
      }
      if (value === null || value === undefined) continue;
      if (attr.type !== undefined) {
        const err = typeError(value, attr.type);
        if (err) report(p, err);
      }
      continue;
    }
    const bt = blockTypes[key];
    if (bt) {
      checkNestedBlock(value, bt, p, report);
      continue;
    }
    report(p, `unknown argument "${key}"`);
  }

  for (const [key, attr] of Object.entries(attributes)) {
    if (attr.required && (body[key] === undefined || body[key] === null)) {
      report(`${path}.${key}`, "required attribute is missing");
    }
  }
  for (const [key, bt] of Object.entries(blockTypes)) {
    if ((bt.min_items ?? 0) > 0 && body[key] === undefined) {
      report(`${path}.${key}`, `required block is missing (at least ${bt.min_items})`);
    }
  }
}

function checkNestedBlock(
  value: unknown,
  bt: SchemaBlockType,
  path: string,
  report: (path: string, message: string) => void,
): void {
  if (typeof value === "string" && value.includes("${")) {
    report(path, "a block cannot be set from an expression (use a dynamic block)");
    return;
  }
  if (bt.nesting_mode === "single" || bt.nesting_mode === "group") {
    const items = Array.isArray(value) ? value : [value];
    if (items.length > 1) report(path, "block may appear only once");
    items.forEach((item, i) => {
      const obj = asObject(item);
      if (!obj) report(path, "must be a block (object)");
      else checkBlock(obj, bt.block, Array.isArray(value) ? `${path}[${i}]` : path, report);
    });
    return;
  }
  if (bt.nesting_mode === "map") {
    const obj = asObject(value);
    if (!obj) return report(path, "must be a map of blocks");
    for (const [k, v] of Object.entries(obj)) {
      const inner = asObject(v);
      if (!inner) report(`${path}.${k}`, "must be a block (object)");
      else checkBlock(inner, bt.block, `${path}.${k}`, report);
    }
    return;
  }
  // list / set: Terraform JSON accepts one object or an array of objects.
  const items = Array.isArray(value) ? value : [value];
  if (bt.min_items !== undefined && items.length < bt.min_items) {
    report(path, `needs at least ${bt.min_items} block(s), has ${items.length}`);
  }
  if (bt.max_items !== undefined && bt.max_items > 0 && items.length > bt.max_items) {
    report(path, `allows at most ${bt.max_items} block(s), has ${items.length}`);
  }
  items.forEach((item, i) => {
    const obj = asObject(item);
    if (!obj) report(`${path}[${i}]`, "must be a block (object)");
    else checkBlock(obj, bt.block, `${path}[${i}]`, report);
  });
}

/** depends_on must name declared things; lifecycle.ignore_changes must name real attributes. */
function checkMeta(
  body: Record<string, unknown>,
  block: SchemaBlock,
  path: string,
  declared: Declared,
  report: (path: string, message: string) => void,
): void {
  const dependsOn = body.depends_on;
  if (dependsOn !== undefined) {
    if (!Array.isArray(dependsOn)) report(`${path}.depends_on`, "must be a list");
    else
      dependsOn.forEach((ref, i) => {
        const m = typeof ref === "string" ? /^(data\.)?([a-z][a-z0-9_]*)\.([\w-]+)$/.exec(ref) : null;
        const pool = m?.[1] ? declared.data : declared.resources;
        if (!m || !pool.get(m[2]!)?.has(m[3]!))
          report(`${path}.depends_on[${i}]`, `does not name a declared resource: ${JSON.stringify(ref)}`);
      });
  }
  const lifecycle = asObject(body.lifecycle);
  if (body.lifecycle !== undefined && !lifecycle) report(`${path}.lifecycle`, "must be a block (object)");
  if (!lifecycle) return;
  const known = new Set([
    "create_before_destroy",
    "prevent_destroy",
    "ignore_changes",
    "replace_triggered_by",
    "precondition",
    "postcondition",
  ]);
  for (const key of Object.keys(lifecycle))
    if (!known.has(key)) report(`${path}.lifecycle.${key}`, `unknown lifecycle argument "${key}"`);
  const ignore = lifecycle.ignore_changes;
  if (Array.isArray(ignore)) {
    ignore.forEach((attr, i) => {
      const root = typeof attr === "string" ? attr.split(/[.[]/)[0]! : "";
      if (!block.attributes?.[root] && !block.block_types?.[root]) {
        report(`${path}.lifecycle.ignore_changes[${i}]`, `"${String(attr)}" is not an attribute of this resource`);
      }
    });
  } else if (ignore !== undefined && ignore !== "all") {
    report(`${path}.lifecycle.ignore_changes`, 'must be a list of attribute names or "all"');
  }
  for (const kind of ["precondition", "postcondition"] as const) {
    const list = lifecycle[kind];
    if (list === undefined) continue;
    (Array.isArray(list) ? list : [list]).forEach((c, i) => {
      const cond = asObject(c);
      if (!cond || cond.condition === undefined || typeof cond.error_message !== "string") {
        report(`${path}.lifecycle.${kind}[${i}]`, "needs condition and error_message");
      }
    });
  }
}

function checkProvisioners(
  body: Record<string, unknown>,
  path: string,
  report: (path: string, message: string) => void,
): void {
  if (body.provisioner === undefined) return;
  const list = Array.isArray(body.provisioner) ? body.provisioner : [body.provisioner];
  list.forEach((entry, i) => {
    const obj = asObject(entry);
    const kinds = obj ? Object.keys(obj) : [];
    if (!obj || kinds.length !== 1 || !PROVISIONERS.has(kinds[0]!)) {
      report(`${path}.provisioner[${i}]`, `must be one of ${[...PROVISIONERS].join(", ")}`);
    }
  });
  if (list.length > 0 && body.connection === undefined) {
    const needsConnection = list.some((e) => {
      const k = Object.keys(asObject(e) ?? {})[0];
      return k === "file" || k === "remote-exec";
    });
    if (needsConnection) report(`${path}.connection`, "file/remote-exec provisioners need a connection block");
  }
}

/** Error message if `value` cannot be converted to the cty type, else undefined. */
export function typeError(value: unknown, type: CtyType): string | undefined {
  if (typeof value === "string" && value.includes("${")) return undefined; // an expression
  if (value === null) return undefined;
  if (typeof type === "string") {
    switch (type) {
      case "string":
        return ["string", "number", "boolean"].includes(typeof value)
          ? undefined
          : `expected a string, got ${describe(value)}`;
      case "number":
        if (typeof value === "number") return undefined;
        if (typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value))) return undefined;
        return `expected a number, got ${describe(value)}`;
      case "bool":
        if (typeof value === "boolean" || value === "true" || value === "false") return undefined;
        return `expected a bool, got ${describe(value)}`;
      case "dynamic":
        return undefined;
      default:
        return `unsupported schema type ${type}`;
    }
  }
  const [kind, inner] = type;
  switch (kind) {
    case "list":
    case "set": {
      if (!Array.isArray(value)) return `expected a ${kind}, got ${describe(value)}`;
      for (const [i, v] of value.entries()) {
        const e = typeError(v, inner as CtyType);
        if (e) return `[${i}]: ${e}`;
      }
      return undefined;
    }
    case "map": {
      const obj = asObject(value);
      if (!obj) return `expected a map, got ${describe(value)}`;
      for (const [k, v] of Object.entries(obj)) {
        const e = typeError(v, inner as CtyType);
        if (e) return `["${k}"]: ${e}`;
      }
      return undefined;
    }
    case "object": {
      const obj = asObject(value);
      if (!obj) return `expected an object, got ${describe(value)}`;
      const fields = inner as Record<string, CtyType>;
      for (const [k, v] of Object.entries(obj)) {
        if (!(k in fields)) return `unknown object attribute "${k}"`;
        const e = typeError(v, fields[k]!);
        if (e) return `.${k}: ${e}`;
      }
      return undefined;
    }
    case "tuple": {
      const types = inner as CtyType[];
      if (!Array.isArray(value) || value.length !== types.length) return `expected a tuple of ${types.length}`;
      for (const [i, v] of value.entries()) {
        const e = typeError(v, types[i]!);
        if (e) return `[${i}]: ${e}`;
      }
      return undefined;
    }
    default:
      return `unsupported schema type ${JSON.stringify(type)}`;
  }
}

interface Declared {
  resources: Map<string, Set<string>>; // type -> names
  data: Map<string, Set<string>>;
  variables: Set<string>;
  locals: Set<string>;
}

function collectDeclared(config: Record<string, unknown>): Declared {
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

function checkReferences(
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

function walkStrings(value: unknown, path: string, visit: (s: string, path: string) => void): void {
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

function fullyQualified(source: string): string {
  const parts = source.split("/");
  if (parts.length === 3) return source;
  if (parts.length === 2) return `registry.terraform.io/${source}`;
  return `registry.terraform.io/hashicorp/${source}`;
}

function asObject(v: unknown): Record<string, unknown> | undefined {
  return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return "a list";
  if (v === null) return "null";
  if (typeof v === "object") return "an object";
  return `${typeof v} ${JSON.stringify(v)}`;
}

export function formatProblems(problems: SchemaProblem[]): string {
  return problems.map((p) => `${p.path}: ${p.message}`).join("\n");
}
