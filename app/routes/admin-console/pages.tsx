import type { Child } from "hono/jsx";
import type { AdminUserView, AuditEntry, Stats } from "../../services/admin.service.js";
import { SignupChart } from "./chart.js";

export type Section = "users" | "audit" | "stats";

/** What every page of a signed-in administrator needs: who, and the session's form token. */
export interface Viewer {
  username: string;
  csrf: string;
}

const when = (iso: string | null) => (iso ? iso.replace("T", " ").slice(0, 16) : "—");

export function Layout(props: { title: string; viewer?: Viewer; section?: Section; children: Child }) {
  const link = (section: Section, label: string) => (
    <a href={`/admin/${section}`} class={props.section === section ? "here" : ""}>
      {label}
    </a>
  );
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · Todo admin`}</title>
        <link rel="stylesheet" href="/admin/static/admin.css" />
      </head>
      <body>
        <header>
          <span class="brand">Todo admin</span>
          {props.viewer ? (
            <>
              <nav>
                {link("users", "Users")}
                {link("audit", "Audit log")}
                {link("stats", "Statistics")}
              </nav>
              <span class="muted">{props.viewer.username}</span>
              <form method="post" action="/admin/logout">
                <input type="hidden" name="csrf" value={props.viewer.csrf} />
                <button class="secondary" type="submit">
                  Sign out
                </button>
              </form>
            </>
          ) : null}
        </header>
        <main>{props.children}</main>
      </body>
    </html>
  );
}

export function LoginPage({ error, username }: { error?: string | undefined; username?: string | undefined }) {
  return (
    <Layout title="Sign in">
      <div class="login card">
        <h1>Sign in</h1>
        <p class="muted">With an administrator account of this service.</p>
        {error ? <p class="notice error">{error}</p> : null}
        <form method="post" action="/admin/login">
          <label>
            Username or e-mail
            <br />
            <input name="username" autocomplete="username" required value={username ?? ""} />
          </label>
          <label>
            Password
            <br />
            <input name="password" type="password" autocomplete="current-password" required />
          </label>
          <button type="submit">Sign in</button>
        </form>
      </div>
    </Layout>
  );
}

export const UsersPage = (props: {
  viewer: Viewer;
  q: string;
  filter: "all" | "enabled" | "disabled";
  page: { items: AdminUserView[]; total: number; limit: number; offset: number };
}) => {
  const { items, total, limit, offset } = props.page;
  const pageNo = Math.floor(offset / limit) + 1;
  const pages = Math.max(1, Math.ceil(total / limit));
  const href = (n: number) => {
    const p = new URLSearchParams();
    if (props.q) p.set("q", props.q);
    if (props.filter !== "all") p.set("status", props.filter);
    p.set("page", String(n));
    return `/admin/users?${p}`;
  };
  return (
    <Layout title="Users" viewer={props.viewer} section="users">
      <h1>Users</h1>
      <form class="search" method="get" action="/admin/users">
        <input name="q" type="search" placeholder="Username or e-mail" value={props.q} aria-label="Search" />
        <select name="status" aria-label="Status">
          {(["all", "enabled", "disabled"] as const).map((f) => (
            <option value={f} selected={props.filter === f}>
              {f === "all" ? "All accounts" : f === "enabled" ? "Enabled" : "Disabled"}
            </option>
          ))}
        </select>
        <button type="submit">Search</button>
      </form>
      <table>
        <thead>
          <tr>
            <th>User</th>
            <th>E-mail</th>
            <th>Role</th>
            <th>Status</th>
            <th>Todos</th>
            <th>Signed up</th>
            <th>Last sign-in</th>
          </tr>
        </thead>
        <tbody>
          {items.length === 0 ? (
            <tr>
              <td colspan={7} class="muted">
                No accounts match.
              </td>
            </tr>
          ) : (
            items.map((u) => (
              <tr>
                <td>
                  <a href={`/admin/users/${u.id}`}>{u.username}</a>
                </td>
                <td>{u.email}</td>
                <td>
                  <span class={`tag ${u.role}`}>{u.role}</span>
                </td>
                <td>
                  <span class={`tag ${u.disabled ? "disabled" : "enabled"}`}>
                    {u.disabled ? "disabled" : "enabled"}
                  </span>
                </td>
                <td>{String(u.todo_count)}</td>
                <td>{when(u.created_at)}</td>
                <td>{when(u.last_login_at)}</td>
              </tr>
            ))
          )}
        </tbody>
      </table>
      <div class="paging">
        {pageNo > 1 ? <a href={href(pageNo - 1)}>← Previous</a> : null}
        <span class="muted">{`Page ${pageNo} of ${pages} · ${total} account${total === 1 ? "" : "s"}`}</span>
        {pageNo < pages ? <a href={href(pageNo + 1)}>Next →</a> : null}
      </div>
    </Layout>
  );
};

export type ConsoleAction = "disable" | "enable" | "revoke" | "delete";

export const ACTION_TEXT: Record<ConsoleAction, { label: string; explain: string; done: string }> = {
  disable: {
    label: "Disable",
    explain: "The account's tokens stop working at once and it cannot sign in until enabled again.",
    done: "The account is disabled.",
  },
  enable: { label: "Enable", explain: "The account can sign in again.", done: "The account is enabled." },
  revoke: {
    label: "Revoke sessions",
    explain: "Signs the account out on every device: all its tokens stop working.",
    done: "Every session of the account was revoked.",
  },
  delete: {
    label: "Delete",
    explain: "Deletes the account with all its todos and tokens. This cannot be undone.",
    done: "The account was deleted.",
  },
};

export function UserPage(props: {
  viewer: Viewer;
  user: AdminUserView;
  notice?: string | undefined;
  error?: string | undefined;
}) {
  const u = props.user;
  const actions: ConsoleAction[] = [u.disabled ? "enable" : "disable", "revoke", "delete"];
  return (
    <Layout title={u.username} viewer={props.viewer} section="users">
      <p>
        <a href="/admin/users">← Users</a>
      </p>
      <h1>{u.username}</h1>
      {props.notice ? <p class="notice">{props.notice}</p> : null}
      {props.error ? <p class="notice error">{props.error}</p> : null}
      <div class="card">
        <dl>
          <dt>Id</dt>
          <dd>{String(u.id)}</dd>
          <dt>E-mail</dt>
          <dd>{`${u.email}${u.email_verified ? " (verified)" : ""}`}</dd>
          <dt>Name</dt>
          <dd>{u.full_name ?? "—"}</dd>
          <dt>Role</dt>
          <dd>{u.role}</dd>
          <dt>Status</dt>
          <dd>{u.disabled ? "disabled" : "enabled"}</dd>
          <dt>Todos</dt>
          <dd>{String(u.todo_count)}</dd>
          <dt>Signed up</dt>
          <dd>{when(u.created_at)}</dd>
          <dt>Last sign-in</dt>
          <dd>{when(u.last_login_at)}</dd>
        </dl>
      </div>
      <div class="actions">
        {actions.map((a) => (
          <a href={`/admin/users/${u.id}/confirm/${a}`} class={a === "delete" || a === "disable" ? "danger" : ""}>
            {`${ACTION_TEXT[a].label}…`}
          </a>
        ))}
      </div>
    </Layout>
  );
}

/** The confirmation step of every action: a page of its own, so it works without JavaScript. */
export function ConfirmPage(props: { viewer: Viewer; user: AdminUserView; action: ConsoleAction }) {
  const text = ACTION_TEXT[props.action];
  return (
    <Layout title={`${text.label} ${props.user.username}`} viewer={props.viewer} section="users">
      <h1>{`${text.label} ${props.user.username}?`}</h1>
      <div class="card">
        <p>{text.explain}</p>
        <form method="post" action={`/admin/users/${props.user.id}/${props.action}`} class="actions">
          <input type="hidden" name="csrf" value={props.viewer.csrf} />
          <button type="submit" class={props.action === "enable" ? "" : "danger"}>
            {`Yes, ${text.label.toLowerCase()}`}
          </button>
          <a href={`/admin/users/${props.user.id}`}>Cancel</a>
        </form>
      </div>
    </Layout>
  );
}

export function AuditPage(props: {
  viewer: Viewer;
  page: { items: AuditEntry[]; total: number; limit: number; offset: number };
}) {
  const { items, total, limit, offset } = props.page;
  const pageNo = Math.floor(offset / limit) + 1;
  const pages = Math.max(1, Math.ceil(total / limit));
  const who = (id: number | null, name: string | null) =>
    id === null ? "server (todo-admin)" : `${name ?? "?"} (#${id})`;
  return (
    <Layout title="Audit log" viewer={props.viewer} section="audit">
      <h1>Audit log</h1>
      <table>
        <thead>
          <tr>
            <th>When (UTC)</th>
            <th>Who</th>
            <th>What</th>
            <th>Target</th>
            <th>From</th>
          </tr>
        </thead>
        <tbody>
          {items.length === 0 ? (
            <tr>
              <td colspan={5} class="muted">
                Nothing yet.
              </td>
            </tr>
          ) : (
            items.map((e) => (
              <tr>
                <td>{e.at.replace("T", " ").slice(0, 19)}</td>
                <td>{who(e.actor_id, e.actor_username)}</td>
                <td>
                  <code>{e.action}</code>
                  {e.details ? <span class="muted">{` ${JSON.stringify(e.details)}`}</span> : null}
                </td>
                <td>{e.target_id === null ? "—" : `${e.target_username ?? "?"} (#${e.target_id})`}</td>
                <td>{e.client_address}</td>
              </tr>
            ))
          )}
        </tbody>
      </table>
      <div class="paging">
        {pageNo > 1 ? <a href={`/admin/audit?page=${pageNo - 1}`}>← Newer</a> : null}
        <span class="muted">{`Page ${pageNo} of ${pages}`}</span>
        {pageNo < pages ? <a href={`/admin/audit?page=${pageNo + 1}`}>Older →</a> : null}
      </div>
    </Layout>
  );
}

export function StatsPage(props: { viewer: Viewer; stats: Stats }) {
  const s = props.stats;
  const figure = (label: string, value: number) => (
    <div class="card">
      <span class="muted">{label}</span>
      <strong>{value.toLocaleString("en")}</strong>
    </div>
  );
  return (
    <Layout title="Statistics" viewer={props.viewer} section="stats">
      <h1>Statistics</h1>
      <div class="figures">
        {figure("Accounts", s.users)}
        {figure("Active in 7 days", s.active_users_7d)}
        {figure("Todos", s.todos)}
        {figure("Stored bytes", s.storage_bytes)}
      </div>
      <h2>Sign-ups per day (last 30 days, UTC)</h2>
      <SignupChart days={s.signups_per_day} />
    </Layout>
  );
}
