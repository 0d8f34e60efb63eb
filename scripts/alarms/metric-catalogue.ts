import { readFileSync } from "node:fs";
import { z } from "zod";
import { CannotCheckError, formatIssues } from "./synthesized-rules.js";

/**
 * CloudMonitor's metric catalogue: which metrics exist per namespace and sub-namespace, their unit,
 * dimensions, and whether alarm rules may use them.
 *
 * Volcengine serves it without authentication (the same endpoint and body as Volcengine's own
 * volcengine/veaiops, veaiops/cache/volcengine_metric.py, `refresh_metrics`):
 *   POST <DEFAULT_CATALOGUE_URL>, Content-Type: application/json, body {"Namespace": "VCM_ECS"}
 *   → 200 {"Result": {"Data": [{MetricName, Namespace, SubNamespace, Unit, TypeAlertEnable, Dimensions, ...}]}}
 */
export const DEFAULT_CATALOGUE_URL =
  "https://cloudmonitor-api.console.volcengine.com/external/api/documents?Action=ListMetricDocs&Version=2018-01-01";
export const DEFAULT_TIMEOUT_MS = 15_000;

export interface CatalogueDimension {
  name: string;
  required: boolean;
}

export interface CatalogueMetric {
  metricName: string;
  namespace: string;
  subNamespace: string;
  unit: string;
  typeAlertEnable: boolean;
  dimensions: CatalogueDimension[];
}

// Only the fields the check reads are validated; the rest (MetricTips, DescriptionCN, PointInterval, ...)
// may change without breaking it. veaiops reads Dimensions with a default of [] and skips entries
// that are not objects, and treats a missing Required as false; so does this schema.
const dimensionSchema = z.object({
  DimensionName: z.string().min(1),
  Required: z.boolean().nullish(),
});
const metricSchema = z.object({
  MetricName: z.string().min(1),
  Namespace: z.string().min(1),
  SubNamespace: z.string(),
  Unit: z.string().nullish(),
  TypeAlertEnable: z.boolean(),
  Dimensions: z
    .array(
      z.union([
        dimensionSchema,
        z.unknown().refine((d) => typeof d !== "object" || d === null, "a dimension needs a DimensionName"),
      ]),
    )
    .nullish(),
});
const bodySchema = z.object({
  Result: z.object({ Data: z.array(metricSchema).nullable() }),
});
/** Volcengine's OpenAPI error envelope, reported as such instead of as a schema mismatch. */
const errorEnvelopeSchema = z.object({
  ResponseMetadata: z.object({ Error: z.object({ Code: z.string().optional(), Message: z.string().optional() }) }),
});

/** The metrics of a catalogue response body; `where` names its origin (URL or file) in errors. */
export function parseCatalogueBody(body: unknown, where: string): CatalogueMetric[] {
  const apiError = errorEnvelopeSchema.safeParse(body);
  if (apiError.success) {
    const { Code, Message } = apiError.data.ResponseMetadata.Error;
    throw new CannotCheckError(
      `${where}: the API answered with an error: ${Code ?? "(no code)"}: ${Message ?? "(no message)"}`,
    );
  }
  const parsed = bodySchema.safeParse(body);
  if (!parsed.success) {
    throw new CannotCheckError(
      `${where}: not a ListMetricDocs response ({"Result": {"Data": [{"MetricName", "Namespace", "SubNamespace", "Unit", "TypeAlertEnable", "Dimensions"}, ...]}}): ${formatIssues(parsed.error)}`,
    );
  }
  return (parsed.data.Result.Data ?? []).map((m) => ({
    metricName: m.MetricName,
    namespace: m.Namespace,
    subNamespace: m.SubNamespace,
    unit: m.Unit ?? "",
    typeAlertEnable: m.TypeAlertEnable,
    dimensions: (m.Dimensions ?? [])
      .filter((d): d is z.infer<typeof dimensionSchema> => typeof d === "object" && d !== null)
      .map((d) => ({ name: d.DimensionName, required: d.Required === true })),
  }));
}

const shorten = (text: string, max = 200) => (text.length > max ? `${text.slice(0, max)}…` : text);

/** One ListMetricDocs request for one namespace. */
export async function fetchNamespaceMetrics(
  url: string,
  namespace: string,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<CatalogueMetric[]> {
  const where = `POST ${url} (Namespace ${namespace})`;
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ Namespace: namespace }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    text = await response.text();
  } catch (err) {
    const reason =
      err instanceof Error && err.name === "TimeoutError"
        ? `no answer within ${timeoutMs / 1000} s`
        : err instanceof Error
          ? ((err.cause as Error | undefined)?.message ?? err.message)
          : String(err);
    throw new CannotCheckError(`${where}: request failed: ${reason}`);
  }
  if (response.status !== 200) {
    throw new CannotCheckError(
      `${where}: HTTP ${response.status} ${response.statusText}: ${shorten(text) || "(empty body)"}`,
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new CannotCheckError(`${where}: the body is not JSON: ${shorten(text) || "(empty body)"}`);
  }
  // The endpoint filters by namespace; filtering again keeps a server that ignores the body harmless.
  return parseCatalogueBody(body, where).filter((m) => m.namespace === namespace);
}

/** Where metrics come from: the live endpoint or saved response bodies. */
export interface MetricCatalogue {
  /** For messages: the URL or the file names. */
  source: string;
  metricsOf(namespace: string): Promise<CatalogueMetric[]>;
}

/** The live catalogue; each namespace is requested once however many rules use it. */
export function remoteCatalogue(url = DEFAULT_CATALOGUE_URL, timeoutMs = DEFAULT_TIMEOUT_MS): MetricCatalogue {
  const requests = new Map<string, Promise<CatalogueMetric[]>>();
  return {
    source: url,
    metricsOf(namespace) {
      let metrics = requests.get(namespace);
      if (!metrics) {
        metrics = fetchNamespaceMetrics(url, namespace, timeoutMs);
        requests.set(namespace, metrics);
      }
      return metrics;
    },
  };
}

/**
 * Saved response bodies (e.g. `curl -X POST -H 'Content-Type: application/json' -d '{}' '<url>' > catalogue.json`
 * on a machine that can reach Volcengine), validated like a live response.
 */
export function fileCatalogue(files: readonly string[]): MetricCatalogue {
  const metrics = files.flatMap((file) => {
    let body: unknown;
    try {
      body = JSON.parse(readFileSync(file, "utf8"));
    } catch (err) {
      throw new CannotCheckError(
        `cannot read the saved catalogue ${file}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    return parseCatalogueBody(body, file);
  });
  return {
    source: files.join(", "),
    metricsOf: async (namespace) => metrics.filter((m) => m.namespace === namespace),
  };
}
