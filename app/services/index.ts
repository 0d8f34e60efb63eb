import type { Config } from "../config.js";
import type { DatabaseHandle } from "../db/database.js";
import { createObjectStore } from "../files/create-store.js";
import type { ObjectStore } from "../files/object-store.js";
import { AccessTokens } from "./access-tokens.js";
import { AttachmentsService } from "./attachments.service.js";
import { FileJanitor } from "./file-janitor.js";
import { AccountStatusService } from "./account-status.js";
import { AdminService } from "./admin.service.js";
import { AccountMailService } from "./account-mail.service.js";
import { AuthService } from "./auth.service.js";
import { BatchService } from "./batch.service.js";
import { ConsoleSessions } from "./console-sessions.js";
import { createMailer } from "./mailer.js";
import { MailQueue } from "./mail-queue.js";
import { Cleanup } from "./cleanup.js";
import { IdempotencyStore } from "./idempotency-store.js";
import { SyncService } from "./sync.service.js";
import { CursorCodec } from "./sync-cursor.js";
import { PasswordHasher } from "./passwords.js";
import { AccountShare } from "./account-share.js";
import { PostgresRateLimitStore, RateLimiter, type RateLimitStore } from "./rate-limiter.js";
import { TodosService } from "./todos.service.js";
import { UsersService } from "./users.service.js";

export interface Services {
  database: DatabaseHandle;
  accessTokens: AccessTokens;
  /** The account behind a token, read on every authenticated request (role, disabled, revoked). */
  accountStatus: AccountStatusService;
  admin: AdminService;
  /** The admin console's cookie sessions (routes/admin-console). */
  consoleSessions: ConsoleSessions;
  auth: AuthService;
  users: UsersService;
  todos: TodosService;
  /** `POST /api/v1/todos/batch`: operations through `todos` and `idempotency`. */
  batch: BatchService;
  sync: SyncService;
  idempotency: IdempotencyStore;
  /** Prunes tombstones and idempotency keys (see cleanup.ts). */
  cleanup: Cleanup;
  registrationLimiter: RateLimiter;
  loginLimiter: RateLimiter;
  /** Per user: password checks of a signed-in user. */
  passwordLimiter: RateLimiter;
  /** Password-reset requests, per client address and per address asked for. */
  passwordResetLimiter: RateLimiter;
  /** Every authenticated request of an account passes through its share of the process. */
  accountShare: AccountShare;
  accountMail: AccountMailService;
  /** Account mail work, off the request path; closed (drained) on shutdown. */
  mailQueue: MailQueue;
  /** Attachments on todos; `attachments.store` is undefined when FILES_STORAGE=off. */
  attachments: AttachmentsService;
  /** Removes the objects of deleted attachments and abandoned uploads (started and closed by the server). */
  fileJanitor: FileJanitor;
}

export interface ServiceOptions {
  /** Clock for rate-limit windows (tests pin it so a window boundary cannot split a test). */
  now?: () => number;
  rateLimitStore?: RateLimitStore;
  /** How often the mail queue runs its jobs (default 250 ms; 0: right after each response). */
  mailQueueIntervalMs?: number;
  /** The object store to use instead of the one FILES_STORAGE names (tests wrap the local store). */
  fileStore?: ObjectStore;
  /** How often the file janitor runs on its own (default 60 s; 0: only when poked). */
  fileJanitorIntervalMs?: number;
}

export function createServices(config: Config, database: DatabaseHandle, options: ServiceOptions = {}): Services {
  const passwords = new PasswordHasher(config.bcryptCost);
  const accessTokens = new AccessTokens({
    secret: config.jwt.secret,
    issuer: config.jwt.issuer,
    audience: config.jwt.audience,
    ttlSeconds: config.jwt.accessTokenTtlSeconds,
  });
  const store = options.rateLimitStore ?? new PostgresRateLimitStore(database.db);
  const limiterOptions = { limit: config.rateLimitPerMinute, ...(options.now ? { now: options.now } : {}) };
  const sync = new SyncService(database.db, config.syncRetentionDays, new CursorCodec(config.jwt.secret));
  const idempotency = new IdempotencyStore(database.db);
  const todos = new TodosService(database.db);
  const mailQueue = new MailQueue(options.mailQueueIntervalMs);
  const accountMail = new AccountMailService(database.db, passwords, createMailer(config.mail), mailQueue);
  const fileStore = options.fileStore ?? createObjectStore(config.files);
  return {
    database,
    accessTokens,
    accountStatus: new AccountStatusService(database.db),
    admin: new AdminService(database.db),
    consoleSessions: new ConsoleSessions(config.jwt.secret),
    auth: new AuthService(
      database.db,
      passwords,
      accessTokens,
      config.refreshTokenTtlDays,
      config.refreshReuseGraceSeconds,
      config.jwt.secret,
    ),
    users: new UsersService(database.db, passwords),
    todos,
    batch: new BatchService(database.db, todos, idempotency),
    sync,
    idempotency,
    cleanup: new Cleanup([
      { name: "todo_tombstones", run: () => sync.prune() },
      { name: "idempotency_keys", run: () => idempotency.prune() },
      { name: "account_tokens", run: () => accountMail.prune() },
    ]),
    registrationLimiter: new RateLimiter(store, limiterOptions),
    loginLimiter: new RateLimiter(store, limiterOptions),
    passwordLimiter: new RateLimiter(store, { ...limiterOptions, limit: config.passwordRateLimitPerMinute }),
    passwordResetLimiter: new RateLimiter(store, limiterOptions),
    accountShare: new AccountShare({ ...config.accountShare, ...(options.now ? { now: options.now } : {}) }),
    accountMail,
    mailQueue,
    attachments: new AttachmentsService(database.db, fileStore, config.files.limits),
    fileJanitor: new FileJanitor(database.db, fileStore, {
      ...(options.fileJanitorIntervalMs !== undefined ? { intervalMs: options.fileJanitorIntervalMs } : {}),
    }),
  };
}
