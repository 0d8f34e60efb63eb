import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import type { z } from "zod";
import { sshPublicKey } from "./fields.js";
import { environmentSchema, stackConfigFileSchema, type ResolvedEnvironment, type StackConfig } from "./schema.js";
import { defaultBackupBucketName } from "./operations.js";
import { defaultFilesBucketName, defaultTosEndpoint } from "./files.js";

export const CONFIG_FILE = "stack.config.json";
export const EXAMPLE_CONFIG_FILE = "stack.config.example.json";

export class StackConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(
      [
        `Invalid stack configuration (${source}): ${problems.length} problem${problems.length === 1 ? "" : "s"}`,
        ...problems.map((p) => `  - ${p}`),
        `Fix them in the file (see ${EXAMPLE_CONFIG_FILE} and docs/deploy.md) or in the TODO_* environment variables, then run again.`,
      ].join("\n"),
    );
    this.name = "StackConfigError";
  }
}

export interface LoadedStackConfig extends StackConfig {
  /** The file the configuration came from. */
  source: string;
  /** True when no stack.config.json exists and the committed example was used. */
  isExample: boolean;
}

export interface LoadOptions {
  /** Directory holding stack.config.json (default: process.cwd()). */
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

export function loadStackConfig(opts: LoadOptions = {}): LoadedStackConfig {
  const cwd = opts.cwd ?? process.cwd();
  const env = opts.env ?? process.env;
  let source: string;
  let isExample = false;
  if (env.TODO_STACK_CONFIG) {
    source = path.resolve(cwd, env.TODO_STACK_CONFIG);
  } else if (existsSync(path.join(cwd, CONFIG_FILE))) {
    source = path.join(cwd, CONFIG_FILE);
  } else {
    source = path.join(cwd, EXAMPLE_CONFIG_FILE);
    isExample = true;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(source, "utf8"));
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === "ENOENT" ? "file not found" : (err as Error).message;
    throw new StackConfigError(source, [`${path.basename(source)}: cannot read it as JSON: ${why}`]);
  }
  return { ...parseStackConfig(raw, { source, env }), source, isExample };
}

/** Validates a parsed configuration file plus environment overrides; throws StackConfigError. */
export function parseStackConfig(raw: unknown, opts: { source: string; env?: NodeJS.ProcessEnv }): StackConfig {
  const env = opts.env ?? {};
  const baseDir = path.dirname(opts.source);
  const problems: string[] = [];

  const file = stackConfigFileSchema.safeParse(raw);
  if (!file.success) {
    throw new StackConfigError(opts.source, formatIssues(file.error.issues, ""));
  }

  let names = Object.keys(file.data.environments);
  if (env.TODO_ENVIRONMENTS) {
    const wanted = splitList(env.TODO_ENVIRONMENTS);
    for (const w of wanted) {
      if (!names.includes(w)) {
        problems.push(`TODO_ENVIRONMENTS: "${w}" is not an environment of the file (have: ${names.join(", ")})`);
      }
    }
    names = names.filter((n) => wanted.includes(n));
  }

  const environments: ResolvedEnvironment[] = [];
  for (const envName of names) {
    const merged = mergeEnvironment(file.data.defaults, file.data.environments[envName] ?? {});
    const overridden = applyEnvOverrides(merged, env);
    const prefix = `environments.${envName}`;
    const parsed = environmentSchema.safeParse(merged);
    const issues = parsed.success ? [] : parsed.error.issues;
    // The key file is read even when other settings are wrong, so one run reports everything.
    const rawSsh = isPlainObject(merged.ssh) ? merged.ssh : {};
    let publicKey = typeof rawSsh.publicKey === "string" ? rawSsh.publicKey.trim() : undefined;
    let keyFileOk = true;
    const pathIssue = issues.some((i) => i.path.join(".").startsWith("ssh.publicKeyPath"));
    if (!publicKey && typeof rawSsh.publicKeyPath === "string" && !pathIssue) {
      const keyPath = resolveLocalPath(rawSsh.publicKeyPath, baseDir);
      try {
        publicKey = readFileSync(keyPath, "utf8").trim();
        const check = sshPublicKey.safeParse(publicKey);
        if (!check.success) {
          keyFileOk = false;
          problems.push(
            `${prefix}.ssh.publicKeyPath: "${keyPath}" ${check.error.issues[0]?.message ?? "is not a public key"}`,
          );
        }
      } catch {
        keyFileOk = false;
        problems.push(
          `${prefix}.ssh.publicKeyPath: cannot read "${keyPath}"; create a key with \`ssh-keygen -t ed25519\` or set ssh.publicKey${note(["ssh", "publicKeyPath"], overridden)}`,
        );
      }
    }
    if (!parsed.success) {
      problems.push(...formatIssues(issues, prefix, overridden));
      continue;
    }
    if (!keyFileOk) continue;
    const cfg = parsed.data;
    const privateKeyPath = cfg.ssh.privateKeyPath && absoluteUnlessHome(cfg.ssh.privateKeyPath, baseDir);
    // Certificate files, like the SSH private key, are read by Terraform at apply time.
    const certificate = cfg.cluster.certificate && {
      ...cfg.cluster.certificate,
      certificatePath: absoluteUnlessHome(cfg.cluster.certificate.certificatePath, baseDir),
      privateKeyPath: absoluteUnlessHome(cfg.cluster.certificate.privateKeyPath, baseDir),
    };
    environments.push({
      ...cfg,
      name: envName,
      backups: {
        ...cfg.backups,
        bucketName:
          cfg.backups.bucketName ??
          defaultBackupBucketName(`${file.data.project}-${envName}`, cfg.region, stateLocation(file.data.state)),
      },
      files: cfg.files && {
        ...cfg.files,
        bucketName:
          cfg.files.bucketName ??
          defaultFilesBucketName(`${file.data.project}-${envName}`, cfg.region, stateLocation(file.data.state)),
        endpoint: cfg.files.endpoint ?? defaultTosEndpoint(cfg.region),
      },
      ssh: { ...cfg.ssh, publicKey: publicKey!, privateKeyPath },
      cluster: { ...cfg.cluster, certificate },
    });
  }

  if (problems.length > 0) throw new StackConfigError(opts.source, problems);
  return { project: file.data.project, state: file.data.state, environments };
}

/** Where an environment's Terraform state lives, as far as naming is concerned (see defaultBackupBucketName). */
function stateLocation(state: StackConfig["state"]): string {
  return state.backend === "s3" ? `s3://${state.bucket}/${state.keyPrefix}` : "local";
}

/** Keys whose value is one of several shapes: an environment replaces them instead of merging. */
const REPLACED_WHOLE = new Set(["image", "database", "https"]);

function mergeEnvironment(defaults: Record<string, unknown>, own: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = structuredClone(defaults);
  for (const [k, v] of Object.entries(own)) {
    out[k] =
      !REPLACED_WHOLE.has(k) && isPlainObject(v) && isPlainObject(out[k]) ? deepMerge(out[k], v) : structuredClone(v);
  }
  return out;
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    out[k] = isPlainObject(v) && isPlainObject(out[k]) ? deepMerge(out[k], v) : v;
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Applies the TODO_* environment overrides in place, for every selected environment; returns
 * which config paths each variable set. They exist for values that differ per person or machine
 * (your IP, your key) so the file can be shared: TODO_ADMIN_CIDRS, TODO_SSH_PUBLIC_KEY,
 * TODO_SSH_PUBLIC_KEY_PATH, TODO_SSH_PRIVATE_KEY_PATH, TODO_IMAGE_ID, TODO_NODE_MIRROR.
 * (TODO_STACK_CONFIG and TODO_ENVIRONMENTS choose the file and the environments.)
 */
function applyEnvOverrides(cfg: Record<string, unknown>, env: NodeJS.ProcessEnv): Map<string, string> {
  const set = new Map<string, string>();
  const ssh = (): Record<string, unknown> => {
    if (!isPlainObject(cfg.ssh)) cfg.ssh = {};
    return cfg.ssh as Record<string, unknown>;
  };
  if (env.TODO_ADMIN_CIDRS !== undefined) {
    ssh().adminCidrs = splitList(env.TODO_ADMIN_CIDRS);
    set.set("ssh.adminCidrs", "TODO_ADMIN_CIDRS");
  }
  if (env.TODO_SSH_PUBLIC_KEY) {
    ssh().publicKey = env.TODO_SSH_PUBLIC_KEY;
    delete ssh().publicKeyPath;
    set.set("ssh.publicKey", "TODO_SSH_PUBLIC_KEY");
  } else if (env.TODO_SSH_PUBLIC_KEY_PATH) {
    ssh().publicKeyPath = env.TODO_SSH_PUBLIC_KEY_PATH;
    delete ssh().publicKey;
    set.set("ssh.publicKeyPath", "TODO_SSH_PUBLIC_KEY_PATH");
  }
  if (env.TODO_SSH_PRIVATE_KEY_PATH) {
    ssh().privateKeyPath = env.TODO_SSH_PRIVATE_KEY_PATH;
    set.set("ssh.privateKeyPath", "TODO_SSH_PRIVATE_KEY_PATH");
  }
  if (env.TODO_IMAGE_ID) {
    cfg.image = { id: env.TODO_IMAGE_ID };
    set.set("image", "TODO_IMAGE_ID");
  }
  if (env.TODO_NODE_MIRROR) {
    cfg.nodeMirror = env.TODO_NODE_MIRROR;
    set.set("nodeMirror", "TODO_NODE_MIRROR");
  }
  return set;
}

function note(issuePath: PropertyKey[], overridden?: Map<string, string>): string {
  if (!overridden) return "";
  const p = issuePath.map(String).join(".");
  for (const [field, variable] of overridden) {
    if (p === field || p.startsWith(`${field}.`)) return ` (value from ${variable})`;
  }
  return "";
}

function formatIssues(issues: z.core.$ZodIssue[], prefix: string, overridden?: Map<string, string>): string[] {
  return issues.flatMap((issue) => {
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((k) =>
        line([...issue.path, k], "unknown setting (check the spelling against stack.config.example.json)"),
      );
    }
    if (issue.code === "invalid_key") {
      return issue.issues.map((inner) => line(issue.path, inner.message));
    }
    // A union reports one sub-issue list per alternative; show the alternatives' own messages.
    if (issue.code === "invalid_union" && issue.errors.length > 0) {
      const alternatives = issue.errors.map((errs) =>
        errs.map((e) => `${[...e.path].map(String).join(".") || "(value)"} ${e.message}`).join("; "),
      );
      return [
        line(
          issue.path,
          `must be one of the documented shapes — ${alternatives.map((a, i) => `option ${i + 1}: ${a}`).join(" | ")}`,
        ),
      ];
    }
    if (issue.code === "invalid_type" && / received undefined$/.test(issue.message)) {
      return [
        line(
          issue.path,
          `is required (${issue.expected === "object" ? "a section" : issue.expected === "array" ? "a list" : `a ${issue.expected}`}); see ${EXAMPLE_CONFIG_FILE}`,
        ),
      ];
    }
    return [line(issue.path, issue.message)];
  });

  function line(p: PropertyKey[], message: string): string {
    const where = [prefix, ...p.map(String)].filter(Boolean).join(".") || "(top level)";
    return `${where}: ${message}${note(p, overridden)}`;
  }
}

function splitList(v: string): string[] {
  return v
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

function expandHome(p: string): string {
  return p === "~" || p.startsWith("~/") ? path.join(homedir(), p.slice(1)) : p;
}

function resolveLocalPath(p: string, baseDir: string): string {
  return path.resolve(baseDir, expandHome(p));
}

/**
 * Terraform runs from cdktf.out/stacks/<stack>, so a relative path must become absolute; a "~/"
 * path stays as written and is expanded by Terraform's pathexpand() on the deploying machine.
 */
function absoluteUnlessHome(p: string, baseDir: string): string {
  return p.startsWith("~/") ? p : path.resolve(baseDir, p);
}
