import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type Answers, DEFAULT_ANSWERS, parseAnswers } from "../../local-cloud/answers.js";
import type { BootRequest, InstanceBooter } from "../../local-cloud/booter.js";
import type { LoggedCall } from "../../local-cloud/call-log.js";

/**
 * What every replay of recorded provider calls shares: reading a recording, the sets of answers it
 * was made under, and carrying the recorded ids over to the ones the fresh stand-in hands out.
 */

/** A recording: one logged call a line. */
export function readRecording(path: string): LoggedCall[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as LoggedCall);
}

/**
 * The recordings in `dir` (made under the default answers), then those in each of its folders,
 * made under the answers of that folder's `answers.json`.
 */
export function recordingsByAnswers(dir: string): { file: string; name: string; answers: Answers }[] {
  return [
    { folder: "", answers: DEFAULT_ANSWERS },
    ...readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => ({
        folder: d.name,
        answers: parseAnswers(
          Object.entries(JSON.parse(readFileSync(join(dir, d.name, "answers.json"), "utf8")) as Record<string, string>)
            .map(([k, v]) => `${k}=${v}`)
            .join(","),
        ),
      })),
  ].flatMap(({ folder, answers }) =>
    readdirSync(join(dir, folder))
      .filter((f) => f.endsWith(".jsonl"))
      .map((f) => ({ file: folder ? `${folder}/${f}` : f, name: f, answers })),
  );
}

/** `v` with every recorded id the replay has learned replaced by the fresh one. */
export function mapIds(v: unknown, ids: Map<string, string>): unknown {
  if (typeof v === "string") return [...ids].reduce((s, [from, to]) => s.split(from).join(to), v);
  if (Array.isArray(v)) return v.map((x) => mapIds(x, ids));
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mapIds(x, ids)]));
  return v;
}

/** Learns, from a recorded answer and the fresh one in the same place, which fresh id stands for a recorded one. */
export function learnIds(recorded: unknown, fresh: unknown, ids: Map<string, string>, id: RegExp): void {
  if (typeof recorded === "string" && typeof fresh === "string" && id.test(recorded) && !ids.has(recorded))
    ids.set(recorded, fresh);
  else if (Array.isArray(recorded) && Array.isArray(fresh)) {
    for (const [i, x] of recorded.entries()) learnIds(x, fresh[i], ids, id);
  } else if (recorded && fresh && typeof recorded === "object" && typeof fresh === "object") {
    for (const k of Object.keys(recorded))
      learnIds((recorded as Record<string, unknown>)[k], (fresh as Record<string, unknown>)[k], ids, id);
  }
}

/**
 * An answer's shape: its keys and types, and the values a client acts on (those `keep` names);
 * times and counters may differ between the recording and the replay.
 */
export function shapeOf(keep: (key: string, value: string) => boolean): (v: unknown) => unknown {
  const shape = (v: unknown, key = ""): unknown => {
    if (Array.isArray(v)) return v.map((x) => shape(x, key));
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shape(x, k)]));
    if (typeof v === "string" && keep(key, v)) return v;
    return typeof v;
  };
  return (v) => shape(v);
}

/** What the stand-in asked a booter to do, in order: the real one boots containers (harness/cloud/ecs-booter.ts). */
export function recordingBooter(): { booter: InstanceBooter; calls: unknown[][] } {
  const calls: unknown[][] = [];
  const booter: InstanceBooter = {
    run: (r: BootRequest) => void calls.push(["run", r]),
    stop: (id) => void calls.push(["stop", id]),
    start: (id) => void calls.push(["start", id]),
    remove: (id) => void calls.push(["remove", id]),
    attachAddress: (id, address) => void calls.push(["attach", id, address]),
    detachAddress: (id, address) => void calls.push(["detach", id, address]),
  };
  return { booter, calls };
}
