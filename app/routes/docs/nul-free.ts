/** The pattern every request string without a stricter one declares: no NUL (U+0000). */
export const NUL_FREE = "^[^\\u0000]*$";

type Schema = {
  $ref?: string;
  type?: string | string[];
  pattern?: string;
  enum?: unknown[];
  properties?: Record<string, Schema>;
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
};

interface Doc {
  components?: { schemas?: Record<string, unknown> };
  paths?: Record<string, Record<string, { requestBody?: { content?: Record<string, unknown> } }>>;
}

/**
 * The server refuses a NUL in any string of a request (422, the contract's hardening rule; PostgreSQL
 * text cannot hold one). So the document says so: every string of a request body without a pattern
 * of its own gets NUL_FREE, and a request the document calls valid is never refused for it. Request
 * schemas only (found through the request bodies); responses are left as they are.
 */
export function declareNulFree(doc: Doc): void {
  const components = (doc.components?.schemas ?? {}) as Record<string, Schema>;
  const seen = new Set<Schema>();
  const visit = (schema: Schema | undefined): void => {
    if (!schema || seen.has(schema)) return;
    seen.add(schema);
    if (schema.$ref) return visit(components[schema.$ref.replace("#/components/schemas/", "")]);
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (types.includes("string") && schema.pattern === undefined && schema.enum === undefined)
      schema.pattern = NUL_FREE;
    for (const child of Object.values(schema.properties ?? {})) visit(child);
    visit(schema.items);
    for (const list of [schema.anyOf, schema.oneOf, schema.allOf]) for (const s of list ?? []) visit(s);
  };
  for (const item of Object.values(doc.paths ?? {}))
    for (const operation of Object.values(item))
      for (const media of Object.values(operation.requestBody?.content ?? {}))
        visit((media as { schema?: Schema }).schema);
}
