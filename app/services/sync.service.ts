import { sql, type Kysely } from "kysely";
import type { Database } from "../db/schema.js";
import { syncExpired, unauthorized } from "../errors.js";
import type { TodoView } from "./presenters.js";
import type { CursorCodec } from "./sync-cursor.js";
import { READY_ATTACHMENTS_JSON } from "./attachment-views.js";
import { rfc3339 } from "./todos.service.js";

export type Change =
  | { type: "upsert"; todo: TodoView }
  | { type: "delete"; id: number; deleted_at: string; version: number };

export interface ChangesPage {
  changes: Change[];
  next_cursor: string;
  has_more: boolean;
}

const DAY_MS = 86_400_000;

/** One row of the feed query: a todo as clients see it (null fields on a tombstone) plus the feed's columns. */
interface ChangeRow extends TodoView {
  head: number;
  type: "upsert" | "delete" | null;
  change_seq: number;
  deleted_at: string;
}

/**
 * The delta feed. Every write to a todo takes the owner's next change number under the owner row's
 * lock (trigger, migration 0002), so numbers become visible in order: whoever sees number N sees
 * every number below it. A page is read in one statement (one snapshot) together with the owner's
 * committed counter, and the next cursor is the last number delivered, or the counter when the
 * page is the last one. Nothing committed later can carry a number at or below that cursor.
 */
export class SyncService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly retentionDays: number,
    private readonly cursors: CursorCodec,
    private readonly now: () => number = Date.now,
  ) {}

  /** Tombstones are pruned a day after the retention, so a cursor within it never misses one. */
  get pruneAfterDays(): number {
    return this.retentionDays + 1;
  }

  async changes(userId: number, cursor: string | undefined, limit: number): Promise<ChangesPage> {
    const now = this.now();
    const from = cursor === undefined ? undefined : this.cursors.decode(userId, cursor, now);
    if (from && now - from.issuedAtMs > this.retentionDays * DAY_MS) throw syncExpired();
    const after = from?.seq ?? 0;
    // Without a cursor the client has nothing yet: live todos only, no tombstones.
    const tombstones = from !== undefined;
    const { rows } = await sql<ChangeRow>`
      with owner as (select change_seq from users where id = ${userId})
      select owner.change_seq as head, c.*
      from owner left join lateral (
        select * from (
          (select 'upsert' as type, id, title, description, ${rfc3339("due_date")}, completed,
                  ${rfc3339("created_at")}, ${rfc3339("updated_at")}, version, change_seq, null as deleted_at,
                  ${READY_ATTACHMENTS_JSON} as attachments
             from todos
            where user_id = ${userId} and change_seq > ${after}
            order by change_seq limit ${limit + 1})
          union all
          (select 'delete', todo_id, null, null, null, null, null, null, version, change_seq,
                  to_char(deleted_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), null
             from todo_tombstones
            where ${tombstones} and user_id = ${userId} and change_seq > ${after}
            order by change_seq limit ${limit + 1})
        ) u
        order by change_seq limit ${limit + 1}
      ) c on true`.execute(this.db);
    const first = rows[0];
    if (!first) throw unauthorized(); // the account is gone
    // A cursor ahead of the counter was not issued by this database (or a restore went back in
    // time): the client must start over, or it would skip changes.
    if (from && from.seq > first.head) throw syncExpired();
    const found = first.type === null ? [] : rows;
    const hasMore = found.length > limit;
    const page = hasMore ? found.slice(0, limit) : found;
    const last = page[page.length - 1];
    const nextSeq = hasMore ? last!.change_seq : Math.max(first.head, after);
    return { changes: page.map(toChange), next_cursor: this.cursors.encode(userId, nextSeq, now), has_more: hasMore };
  }

  /** Forgets tombstones past the retention (plus a day of margin). */
  async prune(): Promise<void> {
    await sql`delete from todo_tombstones where deleted_at < now() - make_interval(days => ${this.pruneAfterDays})`.execute(
      this.db,
    );
  }
}

function toChange(row: ChangeRow): Change {
  if (row.type === "delete") return { type: "delete", id: row.id, deleted_at: row.deleted_at, version: row.version };
  const { id, title, description, due_date, completed, created_at, updated_at, version, attachments } = row;
  return {
    type: "upsert",
    todo: { id, title, description, due_date, completed, created_at, updated_at, version, attachments },
  };
}
