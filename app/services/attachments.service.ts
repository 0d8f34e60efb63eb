import { randomBytes, randomUUID } from "node:crypto";
import { type Kysely, sql } from "kysely";
import type { FileLimits } from "../config.js";
import type { Database } from "../db/schema.js";
import {
  AppError,
  fileTooLarge,
  filesDisabled,
  notFound,
  quotaExceeded,
  tooManyAttachments,
  unauthorized,
  unavailable,
  uploadIncomplete,
  validationFailed,
} from "../errors.js";
import type { ObjectStore } from "../files/object-store.js";
import {
  ATTACHMENT_VIEW,
  type AttachmentView,
  attachmentView,
  type PresignedView,
  presignedView,
} from "./attachment-views.js";

export interface NewAttachment {
  filename: string;
  content_type: string;
  size: number;
}

/** The contract: upload and download URLs live at most 15 minutes. */
export const UPLOAD_URL_SECONDS = 900;
export const DOWNLOAD_URL_SECONDS = 300;

/**
 * Attachments on todos. The bytes never pass through here: `create` reserves the bytes against
 * the quota and hands out a presigned upload, `complete` asks the store (HEAD) whether the object
 * arrived whole, `download` hands out a presigned read, `delete` removes the row — and the
 * database's trigger (migration 0007) queues the object for the janitor in the same transaction.
 *
 * Locks are taken in one order everywhere, the todo row before the owner row (as a todo write
 * does through its trigger), so attachment writes and todo writes never deadlock.
 */
export class AttachmentsService {
  constructor(
    private readonly db: Kysely<Database>,
    readonly store: ObjectStore | undefined,
    readonly limits: FileLimits,
  ) {}

  /** The same service writing through `db` (the idempotency middleware's transaction). */
  withDb(db: Kysely<Database>): AttachmentsService {
    return new AttachmentsService(db, this.store, this.limits);
  }

  async create(
    userId: number,
    todoId: number,
    input: NewAttachment,
  ): Promise<{ attachment: AttachmentView; upload: PresignedView }> {
    const store = this.requireStore();
    if (input.size > this.limits.maxBytes) throw fileTooLarge(this.limits.maxBytes);
    if (!isAllowedType(input.content_type, this.limits.allowedTypes)) {
      throw validationFailed([
        { path: "content_type", message: `must be one of ${this.limits.allowedTypes.join(", ")}` },
      ]);
    }
    const id = randomUUID();
    // Random, never derived from the filename: the name is only ever in the database.
    const key = randomBytes(24).toString("base64url");
    // Signed before anything is written: a store that cannot sign (credentials) leaves no row behind.
    const upload = await this.fromStore(() =>
      store.presignUpload({
        key,
        contentType: input.content_type,
        size: input.size,
        expiresInSeconds: UPLOAD_URL_SECONDS,
      }),
    );
    const attachment = await this.inTransaction(async (trx) => {
      const todo = await trx
        .selectFrom("todos")
        .select("id")
        .where("id", "=", todoId)
        .where("user_id", "=", userId)
        .forUpdate()
        .executeTakeFirst();
      if (!todo) return missing(trx, userId, "No such todo.");
      const { count } = await trx
        .selectFrom("attachments")
        .select(sql<number>`count(*)::int`.as("count"))
        .where("todo_id", "=", todoId)
        .executeTakeFirstOrThrow();
      if (count >= this.limits.maxPerTodo) throw tooManyAttachments(this.limits.maxPerTodo);
      // The owner row's lock makes the quota check and the reservation one step: of two uploads
      // that together pass the quota, the second sees the first's bytes.
      const owner = await trx
        .selectFrom("users")
        .select("storage_bytes")
        .where("id", "=", userId)
        .forUpdate()
        .executeTakeFirst();
      if (!owner) throw unauthorized();
      if (owner.storage_bytes + input.size > this.limits.quotaBytes) {
        throw quotaExceeded(this.limits.quotaBytes, owner.storage_bytes);
      }
      return trx
        .insertInto("attachments")
        .values({
          id,
          todo_id: todoId,
          user_id: userId,
          object_key: key,
          filename: input.filename,
          content_type: input.content_type,
          size: input.size,
        })
        .returning(ATTACHMENT_VIEW)
        .executeTakeFirstOrThrow();
    });
    return { attachment, upload: presignedView(upload) };
  }

  /**
   * Idempotent: a ready attachment is returned as it is. Two completes at once both answer 200
   * and the todo's version grows once (the second waits for the todo's lock, then finds it ready).
   */
  async complete(userId: number, id: string): Promise<AttachmentView> {
    const store = this.requireStore();
    const found = await this.find(userId, id);
    if (found.status === "ready") return attachmentView(found);
    const head = await this.fromStore(() => store.head(found.object_key));
    if (head === null) throw uploadIncomplete();
    if (head.size !== found.size) {
      throw uploadIncomplete(
        `The stored object has ${head.size} bytes, not the ${found.size} declared: upload the file again to the same URL (or a new attachment).`,
      );
    }
    return this.inTransaction(async (trx) => {
      await lockTodo(trx, found.todo_id);
      const flipped = await trx
        .updateTable("attachments")
        .set({ status: "ready" })
        .where("id", "=", id)
        .where("status", "=", "pending")
        .returning(ATTACHMENT_VIEW)
        .executeTakeFirst();
      if (flipped) {
        await bumpTodo(trx, found.todo_id);
        return flipped;
      }
      const now = await trx
        .selectFrom("attachments")
        .select(ATTACHMENT_VIEW)
        .where("id", "=", id)
        .where("user_id", "=", userId)
        .executeTakeFirst();
      if (now) return now;
      return missing(trx, userId, "No such attachment.");
    });
  }

  /** A short-lived download request; only a ready attachment has bytes to read. */
  async download(userId: number, id: string): Promise<PresignedView> {
    const store = this.requireStore();
    const found = await this.find(userId, id);
    if (found.status !== "ready") throw uploadIncomplete("This attachment's upload has not been completed.");
    return presignedView(
      await this.fromStore(() =>
        store.presignDownload({
          key: found.object_key,
          filename: found.filename,
          contentType: found.content_type,
          expiresInSeconds: DOWNLOAD_URL_SECONDS,
        }),
      ),
    );
  }

  /** Removes the attachment; its object is queued for the janitor by the database, in this transaction. */
  async delete(userId: number, id: string): Promise<void> {
    this.requireStore();
    const found = await this.find(userId, id);
    await this.inTransaction(async (trx) => {
      await lockTodo(trx, found.todo_id);
      const gone = await trx
        .deleteFrom("attachments")
        .where("id", "=", id)
        .where("user_id", "=", userId)
        .returning("status")
        .executeTakeFirst();
      if (!gone) return missing(trx, userId, "No such attachment.");
      // A pending attachment was never part of the todo: its removal is no change of the todo.
      if (gone.status === "ready") await bumpTodo(trx, found.todo_id);
    });
  }

  private async find(userId: number, id: string) {
    const row = await this.db
      .selectFrom("attachments")
      .select([...ATTACHMENT_VIEW, "object_key"])
      .where("id", "=", id)
      .where("user_id", "=", userId)
      .executeTakeFirst();
    if (!row) return missing(this.db, userId, "No such attachment.");
    return row;
  }

  private requireStore(): ObjectStore {
    if (!this.store) throw filesDisabled();
    return this.store;
  }

  /** A store that cannot answer (network, credentials) is the client's 503, never a 500. */
  private async fromStore<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (err instanceof AppError) throw err;
      throw new StoreUnavailable(err);
    }
  }

  private inTransaction<T>(work: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
    if (this.db.isTransaction) return work(this.db);
    return this.db.transaction().execute(work);
  }
}

/** The object store failed; the HTTP layer answers 503 `unavailable` and logs the cause. */
export class StoreUnavailable extends AppError {
  constructor(override readonly cause: unknown) {
    super(unavailable().code, "File storage is temporarily unavailable. Try again shortly.");
  }
}

export function isAllowedType(contentType: string, allowed: readonly string[]): boolean {
  const [family] = contentType.split("/");
  return allowed.some((entry) => entry === contentType || entry === `${family}/*`);
}

async function lockTodo(trx: Kysely<Database>, todoId: number): Promise<void> {
  await trx.selectFrom("todos").select("id").where("id", "=", todoId).forUpdate().execute();
}

/** A change of the todo: its trigger gives it the next version and change number (sync carries it). */
async function bumpTodo(trx: Kysely<Database>, todoId: number): Promise<void> {
  await trx
    .updateTable("todos")
    .set({ updated_at: sql<Date>`greatest(now(), updated_at + interval '1 millisecond')` })
    .where("id", "=", todoId)
    .execute();
}

/** Nothing of that id for this user: 404, or 401 when the account itself is gone. */
async function missing(db: Kysely<Database>, userId: number, message: string): Promise<never> {
  const owner = await db.selectFrom("users").select("id").where("id", "=", userId).executeTakeFirst();
  throw owner ? notFound(message) : unauthorized();
}
