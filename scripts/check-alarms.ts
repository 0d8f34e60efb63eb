import path from "node:path";
import { runMain } from "./lib/main.js";
import { parseArgs } from "node:util";
import { z } from "zod";
import { checkRule, failed, formatRuleReport, formatSummary, type RuleReport } from "./alarms/check-rule.js";
import { DEFAULT_CATALOGUE_URL, fileCatalogue, remoteCatalogue } from "./alarms/metric-catalogue.js";
import { CannotCheckError, readSynthesizedRules, RULE_TYPE } from "./alarms/synthesized-rules.js";

/**
 * `npm run check:alarms [-- --out <cdktf.out dir>] [--catalogue-url <url> | --catalogue <file.json>]`
 *
 * Checks every CloudMonitor alarm rule of the synthesized stacks against CloudMonitor's metric
 * catalogue: a rule naming a metric, sub-namespace or dimension the catalogue does not have is
 * accepted by the API but never fires, so this is the only way to notice before an outage does.
 * Exit status: 0 all rules found (warnings allowed), 1 a rule is wrong, 2 the check could not run.
 */
export const USAGE = `usage: npm run check:alarms [-- --out <cdktf.out dir>] [--catalogue-url <url> | --catalogue <file.json>...]
  --out <dir>            where \`npm run synth\` wrote the stacks (default: cdktf.out)
  --catalogue-url <url>  the ListMetricDocs endpoint (default: ${DEFAULT_CATALOGUE_URL})
  --catalogue <file>     a saved response body instead of the endpoint (repeatable), e.g. from
                         curl -X POST -H 'Content-Type: application/json' -d '{}' '${DEFAULT_CATALOGUE_URL}' > catalogue.json`;

const httpUrl = z.url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" });

const argsSchema = z
  .object({
    out: z.string().min(1).default("cdktf.out"),
    "catalogue-url": httpUrl.optional(),
    catalogue: z.array(z.string().min(1)).optional(),
    help: z.boolean().optional(),
  })
  .refine((a) => !(a["catalogue-url"] && a.catalogue), "--catalogue and --catalogue-url exclude each other");

export interface Output {
  out: (line: string) => void;
  err: (line: string) => void;
}

const processOutput: Output = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

/** The whole command; resolves to its exit status. */
export async function runCheckAlarms(
  argv: readonly string[],
  io: Output = processOutput,
  cwd = process.cwd(),
): Promise<number> {
  let raw: ReturnType<typeof parseRawArgs>;
  try {
    raw = parseRawArgs(argv);
  } catch (err) {
    io.err(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    return 2;
  }
  const args = argsSchema.safeParse(raw);
  if (!args.success) {
    const problems = args.error.issues.map((i) => (i.path.length ? `--${i.path.join(".")}: ${i.message}` : i.message));
    io.err(`${problems.join("; ")}\n${USAGE}`);
    return 2;
  }
  if (args.data.help) {
    io.out(USAGE);
    return 0;
  }

  try {
    const outDir = path.resolve(cwd, args.data.out);
    const { stacks, rules } = readSynthesizedRules(outDir);
    if (rules.length === 0) {
      io.out(
        `alarms are off: no ${RULE_TYPE} in ${stacks.join(", ")} (\`alerts\` not configured for any environment in stack.config.json); nothing to check`,
      );
      return 0;
    }
    const catalogue = args.data.catalogue
      ? fileCatalogue(args.data.catalogue.map((f) => path.resolve(cwd, f)))
      : remoteCatalogue(args.data["catalogue-url"] ?? DEFAULT_CATALOGUE_URL);

    // One at a time: the catalogue asks once per namespace, and the first failure stops the check.
    const reports: RuleReport[] = [];
    for (const rule of rules) reports.push(checkRule(rule, await catalogue.metricsOf(rule.namespace)));
    for (const report of reports) io.out(formatRuleReport(report));
    io.out(formatSummary(reports, stacks.length, catalogue.source));
    return reports.some(failed) ? 1 : 0;
  } catch (err) {
    if (!(err instanceof CannotCheckError)) throw err;
    io.err(`cannot check the alarm rules: ${err.message}`);
    if (!args.data.catalogue && /request failed|HTTP \d/.test(err.message)) {
      io.err(
        "Behind a proxy or offline? Save the catalogue where Volcengine is reachable and pass --catalogue <file> (see --help).",
      );
    }
    return 2;
  }
}

function parseRawArgs(argv: readonly string[]) {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      out: { type: "string" },
      "catalogue-url": { type: "string" },
      catalogue: { type: "string", multiple: true },
      help: { type: "boolean", short: "h" },
    },
  });
  return values;
}

runMain(import.meta.url, "check:alarms", async (argv) => {
  try {
    return await runCheckAlarms(argv);
  } catch (err) {
    process.stderr.write(`check:alarms crashed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return 2;
  }
});
