/** Whether a JSON value converts to a cty type the way Terraform converts it ("22" is a number). */
import { asObject, type CtyType } from "./schemas.js";

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

function describe(v: unknown): string {
  if (Array.isArray(v)) return "a list";
  if (v === null) return "null";
  if (typeof v === "object") return "an object";
  return `${typeof v} ${JSON.stringify(v)}`;
}
