import { type Kysely, sql } from "kysely";

/**
 * Frozen once released: never edit, add a new migration instead.
 *
 * Each user's number of todos and of completed todos, kept by the trigger that already numbers
 * every change, so a page's `total` is one row read instead of a count over all of the account's
 * todos (a page of an account with 100,000 todos costs what a page of one with 3 costs).
 *
 * Expand only: two columns with a default, and the trigger function replaced by one that does
 * what it did plus the two counters in the same UPDATE of the owner row it already locks (so
 * writes take no new lock). Older code running beside it during a rolling release writes through
 * the same trigger, so its writes are counted too.
 */
export async function up(db: Kysely<any>): Promise<void> {
  // Writes wait (reads go on) until this migration commits, so no write falls between the
  // backfill and the new trigger and the counters start exact.
  await sql`lock table todos in share row exclusive mode`.execute(db);
  await sql`alter table users add column todo_count bigint not null default 0`.execute(db);
  await sql`alter table users add column completed_count bigint not null default 0`.execute(db);
  await sql`
    update users u set todo_count = c.n, completed_count = c.done
    from (select user_id, count(*) as n, count(*) filter (where completed) as done from todos group by user_id) c
    where u.id = c.user_id`.execute(db);
  await sql`
    create or replace function todos_track_change() returns trigger language plpgsql as $$
    declare
      next_seq bigint;
      todos_delta bigint := 0;
      completed_delta bigint := 0;
    begin
      if tg_op = 'UPDATE' and new is not distinct from old then
        return new;
      end if;
      if tg_op = 'INSERT' then
        todos_delta := 1;
        completed_delta := new.completed::int;
      elsif tg_op = 'UPDATE' then
        completed_delta := new.completed::int - old.completed::int;
      else
        todos_delta := -1;
        completed_delta := -(old.completed::int);
      end if;
      update users set change_seq = change_seq + 1,
                       todo_count = todo_count + todos_delta,
                       completed_count = completed_count + completed_delta
        where id = case when tg_op = 'DELETE' then old.user_id else new.user_id end
        returning change_seq into next_seq;
      if tg_op = 'DELETE' then
        if next_seq is not null then
          insert into todo_tombstones (user_id, change_seq, todo_id, version, deleted_at)
            values (old.user_id, next_seq, old.id, old.version + 1, now());
        end if;
        return old;
      end if;
      -- No owner row: leave 0 and let the foreign key reject the insert (23503).
      new.change_seq := coalesce(next_seq, 0);
      if tg_op = 'UPDATE' then
        new.version := old.version + 1;
      else
        new.version := 1;
      end if;
      return new;
    end
    $$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  // The function as migration 0002 created it.
  await sql`
    create or replace function todos_track_change() returns trigger language plpgsql as $$
    declare
      next_seq bigint;
    begin
      if tg_op = 'UPDATE' and new is not distinct from old then
        return new;
      end if;
      update users set change_seq = change_seq + 1
        where id = case when tg_op = 'DELETE' then old.user_id else new.user_id end
        returning change_seq into next_seq;
      if tg_op = 'DELETE' then
        if next_seq is not null then
          insert into todo_tombstones (user_id, change_seq, todo_id, version, deleted_at)
            values (old.user_id, next_seq, old.id, old.version + 1, now());
        end if;
        return old;
      end if;
      new.change_seq := coalesce(next_seq, 0);
      if tg_op = 'UPDATE' then
        new.version := old.version + 1;
      else
        new.version := 1;
      end if;
      return new;
    end
    $$`.execute(db);
  await sql`alter table users drop column completed_count`.execute(db);
  await sql`alter table users drop column todo_count`.execute(db);
}
