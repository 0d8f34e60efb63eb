/**
 * Part of a synthesized stack applied with the real provider (a filesystem mirror, see
 * provider-mirror.ts) against the Volcengine stand-in (local-cloud/) in this process, under chosen
 * answers to the questions the real API leaves open (local-cloud/answers.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Answers } from "../../local-cloud/answers.js";
import { type LocalCloud, startLocalCloud } from "../../local-cloud/server.js";
import { terraformWithMirrorAsync } from "./provider-mirror.js";
import type { TfJson } from "./synth-helpers.js";

/**
 * The resources of `types` from a synthesized stack, with the data sources and locals they read
 * and the moved blocks that lead to them, on local state.
 */
export function stackPart(tf: TfJson, types: readonly string[]): TfJson {
  const { backend: _b, ...terraform } = tf.terraform;
  const resource = Object.fromEntries(types.filter((t) => tf.resource[t]).map((t) => [t, tf.resource[t]]));
  const text = JSON.stringify(resource);
  const locals = Object.fromEntries(
    Object.entries<unknown>(tf.locals ?? {}).filter(([name]) => text.includes(`local.${name}`)),
  );
  const data = Object.fromEntries(
    Object.entries<Record<string, unknown>>(tf.data ?? {}).filter(([type]) =>
      JSON.stringify([resource, locals]).includes(`data.${type}.`),
    ),
  );
  const kept = new Set(Object.entries(resource).flatMap(([t, byName]) => Object.keys(byName).map((n) => `${t}.${n}`)));
  return {
    terraform: { ...terraform, required_providers: { volcengine: tf.terraform.required_providers.volcengine } },
    provider: { volcengine: tf.provider.volcengine },
    resource,
    ...(Object.keys(data).length ? { data } : {}),
    ...(Object.keys(locals).length ? { locals } : {}),
    moved: ((tf.moved ?? []) as { to: string }[]).filter((m) => kept.has(m.to)),
  };
}

export interface StandInRun {
  cloud: LocalCloud;
  write(config: TfJson): void;
  tf(args: string[]): Promise<{ status: number; out: string }>;
  apply(): Promise<{ status: number; out: string }>;
  /** `plan -detailed-exitcode`: 0 when there is nothing to change. */
  plan(): Promise<{ status: number; out: string }>;
  /** Destroys, waits for the last transitions, and returns what the stand-in still holds. */
  destroy(): Promise<{ status: number; out: string; left: string[] }>;
}

export async function withStandIn(
  mirror: string,
  answers: Partial<Answers>,
  body: (run: StandInRun) => Promise<void>,
): Promise<void> {
  const cloud = await startLocalCloud({ transitionMs: 200, answers });
  const dir = mkdtempSync(path.join(tmpdir(), "todo-tf-stand-in-cloud-"));
  const tf = terraformWithMirrorAsync(mirror, dir, {
    VOLCENGINE_ACCESS_KEY: "AKLTlocalcloud",
    VOLCENGINE_SECRET_KEY: "local-cloud-any-secret",
    VOLCENGINE_DISABLE_SSL: "true",
    VOLCENGINE_PROXY_URL: cloud.url,
  });
  let initialized = false;
  const run: StandInRun = {
    cloud,
    tf,
    write: (config) => writeFileSync(path.join(dir, "main.tf.json"), JSON.stringify(config)),
    async apply() {
      if (!initialized) {
        const init = await tf(["init", "-input=false", "-no-color"]);
        if (init.status !== 0) return init;
        initialized = true;
      }
      return tf(["apply", "-auto-approve", "-input=false", "-no-color"]);
    },
    plan: () => tf(["plan", "-detailed-exitcode", "-input=false", "-no-color"]),
    async destroy() {
      const r = await tf(["destroy", "-auto-approve", "-input=false", "-no-color"]);
      await new Promise((resolve) => setTimeout(resolve, cloud.store.transitionMs + 100));
      return { ...r, left: cloud.store.snapshot().map((x) => `${x.kind}/${x.id}`) };
    },
  };
  try {
    await body(run);
  } finally {
    tf.cleanup();
    rmSync(dir, { recursive: true, force: true });
    await cloud.close();
  }
}
