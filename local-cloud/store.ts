import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { type Answers, DEFAULT_ANSWERS } from "./answers.js";

/** One resource as the API describes it: its fields in the API's own (PascalCase) names. */
export interface Resource {
  kind: string;
  id: string;
  fields: Record<string, unknown>;
  /** A status change that takes effect at `at` (ms since epoch): creating → available, etc. */
  pending?: { status: string; at: number; then?: "delete" };
}

export interface StoreOptions {
  /** How long a resource stays in its transitional status (creating, stopping...). */
  transitionMs?: number;
  /** Keep the resources in this JSON file (read at start, written after every change). */
  file?: string;
  /** The clock, for tests. */
  now?: () => number;
  /** How the emulator answers where the real API's behaviour is unknown (answers.ts); default: DEFAULT_ANSWERS. */
  answers?: Partial<Answers>;
}

/**
 * Every resource of the stand-in, by kind and id. Status fields move lazily: a read after
 * `pending.at` sees the target status, so a client that polls sees the same sequence as on the
 * real cloud without any timer running in the background.
 */
export class Store {
  readonly transitionMs: number;
  /** The answer to each undocumented question that this emulator gives (answers.ts). */
  readonly answers: Answers;
  private readonly items = new Map<string, Resource>();
  private readonly now: () => number;

  constructor(private readonly opts: StoreOptions = {}) {
    this.transitionMs = opts.transitionMs ?? 1000;
    this.answers = { ...DEFAULT_ANSWERS, ...opts.answers };
    this.now = opts.now ?? Date.now;
    if (opts.file && existsSync(opts.file)) {
      for (const r of JSON.parse(readFileSync(opts.file, "utf8")) as Resource[]) this.items.set(key(r.kind, r.id), r);
    }
  }

  /** The store's notion of now (ms since epoch). */
  clock(): number {
    return this.now();
  }

  newId(prefix: string): string {
    return `${prefix}-${randomBytes(10).toString("hex").slice(0, 20)}`;
  }

  create(
    kind: string,
    id: string,
    fields: Record<string, unknown>,
    transition?: { from: string; to: string; field?: string },
  ): Resource {
    const r: Resource = { kind, id, fields: { ...fields } };
    if (transition) {
      r.fields[transition.field ?? "Status"] = transition.from;
      r.pending = { status: transition.to, at: this.now() + this.transitionMs };
    }
    this.items.set(key(kind, id), r);
    this.save();
    return r;
  }

  /** Start a status change: `from` now, `to` after the transition time (`then: "delete"` removes it). */
  transition(r: Resource, from: string, to: string, then?: "delete"): void {
    r.fields.Status = from;
    r.pending = { status: to, at: this.now() + this.transitionMs, then };
    this.save();
  }

  get(kind: string, id: string): Resource | undefined {
    const r = this.items.get(key(kind, id));
    return r && this.settle(r);
  }

  all(kind?: string): Resource[] {
    return [...this.items.values()].filter((r) => (!kind || r.kind === kind) && this.settle(r));
  }

  update(r: Resource, fields: Record<string, unknown>): void {
    Object.assign(r.fields, fields);
    this.save();
  }

  delete(r: Resource): void {
    this.items.delete(key(r.kind, r.id));
    this.save();
  }

  /** Every resource still held, settled; what `GET /_local/resources` shows. */
  snapshot(): Resource[] {
    return this.all();
  }

  private settle(r: Resource): Resource | undefined {
    if (r.pending && this.now() >= r.pending.at) {
      const { status, then } = r.pending;
      delete r.pending;
      if (then === "delete") {
        this.items.delete(key(r.kind, r.id));
        this.save();
        return undefined;
      }
      r.fields.Status = status;
      this.save();
    }
    return r;
  }

  private save(): void {
    if (!this.opts.file) return;
    const tmp = `${this.opts.file}.tmp`;
    writeFileSync(tmp, JSON.stringify([...this.items.values()], null, 1));
    renameSync(tmp, this.opts.file);
  }
}

const key = (kind: string, id: string) => `${kind}/${id}`;

export function isoNow(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, "+08:00");
}
