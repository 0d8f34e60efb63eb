/** The provider schemas the validator reads (`terraform providers schema -json`), and its problem type. */
import { readFileSync } from "node:fs";

export type CtyType = string | [string, ...unknown[]];

export interface SchemaAttribute {
  type?: CtyType;
  required?: boolean;
  optional?: boolean;
  computed?: boolean;
  sensitive?: boolean;
}

export interface SchemaBlockType {
  nesting_mode: "single" | "list" | "set" | "map" | "group";
  block: SchemaBlock;
  min_items?: number;
  max_items?: number;
}

export interface SchemaBlock {
  attributes?: Record<string, SchemaAttribute>;
  block_types?: Record<string, SchemaBlockType>;
}

export interface ProviderSchemaEntry {
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

/** Merges several `terraform providers schema -json` documents (e.g. volcengine + null). */
export function loadProviderSchemas(...files: string[]): ProvidersSchemaJson {
  const merged: ProvidersSchemaJson = { provider_schemas: {} };
  for (const f of files) {
    const doc = JSON.parse(readFileSync(f, "utf8")) as ProvidersSchemaJson;
    Object.assign(merged.provider_schemas, doc.provider_schemas);
  }
  return merged;
}

export function formatProblems(problems: SchemaProblem[]): string {
  return problems.map((p) => `${p.path}: ${p.message}`).join("\n");
}

export function fullyQualified(source: string): string {
  const parts = source.split("/");
  if (parts.length === 3) return source;
  if (parts.length === 2) return `registry.terraform.io/${source}`;
  return `registry.terraform.io/hashicorp/${source}`;
}

export function asObject(v: unknown): Record<string, unknown> | undefined {
  return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}
