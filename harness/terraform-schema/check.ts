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
import { checkBlock, checkMeta, checkProvisioners, DATA_META, RESOURCE_META } from "./blocks.js";
import { checkReferences, collectDeclared, expressions, walkStrings } from "./references.js";
import {
  asObject,
  fullyQualified,
  type ProviderSchemaEntry,
  type ProvidersSchemaJson,
  type SchemaProblem,
} from "./schemas.js";

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

/** Terraform's built-in provider (terraform.io/builtin/terraform): needs no required_providers entry. */
const BUILTIN: ProviderSchemaEntry = {
  resource_schemas: {
    terraform_data: {
      block: {
        attributes: {
          id: { type: "string", computed: true },
          input: { type: "dynamic", optional: true },
          output: { type: "dynamic", computed: true },
          triggers_replace: { type: "dynamic", optional: true },
        },
      },
    },
  },
};

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
      const provider = localName === "terraform" ? BUILTIN : providerByLocalName.get(localName);
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
