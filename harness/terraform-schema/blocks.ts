/** One resource, data source or provider block against its schema: arguments, nested blocks, meta-arguments. */
import { asObject, type SchemaBlock, type SchemaBlockType } from "./schemas.js";
import type { Declared } from "./references.js";
import { typeError } from "./value-types.js";

export const RESOURCE_META = new Set([
  "count",
  "for_each",
  "provider",
  "depends_on",
  "lifecycle",
  "provisioner",
  "connection",
  "//",
]);
export const DATA_META = new Set(["count", "for_each", "provider", "depends_on", "lifecycle", "//"]);
const PROVISIONERS = new Set(["file", "local-exec", "remote-exec"]);

export function checkBlock(
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
export function checkMeta(
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

export function checkProvisioners(
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
