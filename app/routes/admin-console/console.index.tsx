import { getConnInfo } from "@hono/node-server/conninfo";
import { type Context, Hono } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { html } from "hono/html";
import type { JSX } from "hono/jsx/jsx-runtime";
import { AppError } from "../../errors.js";
import type { AppEnv } from "../../http/app-env.js";
import { CONSOLE_SESSION_SECONDS } from "../../services/console-sessions.js";
import { actorOf } from "../admin/admin.handlers.js";
import { CONSOLE_CSS } from "./console.css.js";
import {
  ACTION_TEXT,
  AuditPage,
  type ConsoleAction,
  ConfirmPage,
  Layout,
  LoginPage,
  StatsPage,
  UserPage,
  UsersPage,
  type Viewer,
} from "./pages.js";

const COOKIE = "todo_admin_session";
const PAGE_SIZE = 20;
const ACTIONS = new Set<string>(["disable", "enable", "revoke", "delete"]);

type ConsoleEnv = AppEnv & { Variables: AppEnv["Variables"] & { viewer: Viewer } };
type ConsoleContext = Context<ConsoleEnv>;

/** Pages hold account data: never cached. */
const render = (c: Context, page: JSX.Element, status: 200 | 400 | 403 | 404 | 409 | 429 = 200) =>
  c.html(html`<!doctype html>${page}`, status, { "Cache-Control": "no-store" });

/** Over HTTPS directly, or behind a trusted proxy (Nginx) that says the client used HTTPS. */
function overHttps<E extends AppEnv>(c: Context<E>): boolean {
  if (new URL(c.req.url).protocol === "https:") return true;
  const peer = c.env?.incoming ? getConnInfo(c).remote.address : undefined;
  return (
    peer !== undefined &&
    c.var.clientAddress.isTrusted(peer) &&
    c.req.header("x-forwarded-proto")?.split(",")[0]?.trim() === "https"
  );
}

/**
 * A form posted from another site is refused whatever it carries: browsers say where a request
 * comes from (`Sec-Fetch-Site`, `Origin`), and it must be this site. With the SameSite=Strict
 * cookie and the per-session form token this is the third of three locks against cross-site
 * requests. (The console's Referrer-Policy is `same-origin`: under `no-referrer` a browser sends
 * `Origin: null`.)
 */
function sameOrigin<E extends AppEnv>(c: Context<E>): boolean {
  const site = c.req.header("sec-fetch-site");
  if (site !== undefined && site !== "same-origin") return false;
  const origin = c.req.header("origin");
  if (origin === undefined) return true; // not a browser; the form token still applies
  try {
    return new URL(origin).host === c.req.header("host");
  } catch {
    return false; // "null" included
  }
}

const positive = (value: string | undefined) => {
  const n = Number(value);
  return Number.isInteger(n) && n >= 1 && n <= 1_000_000 ? n : 1;
};

/**
 * The admin console at /admin: HTML rendered on the server with Hono's JSX, plain links and forms
 * (no script at all, so the CSP forbids every script), a stylesheet of its own. Signed-in state is
 * a cookie scoped to /admin (HttpOnly, SameSite=Strict, Secure over HTTPS); the account behind it
 * must still be an enabled administrator on every request.
 */
export function createConsole() {
  const app = new Hono<ConsoleEnv>({ strict: true });

  app.get("/admin/static/admin.css", (c) =>
    c.body(CONSOLE_CSS, 200, { "Content-Type": "text/css; charset=utf-8", "Cache-Control": "public, max-age=300" }),
  );

  app.get("/admin/login", (c) => render(c, <LoginPage />));

  app.post("/admin/login", async (c) => {
    if (!sameOrigin(c)) return render(c, <LoginPage error="This form was sent from another site." />, 403);
    const form = await c.req.parseBody();
    const username = typeof form.username === "string" ? form.username.slice(0, 254) : "";
    const password = typeof form.password === "string" ? form.password.slice(0, 1024) : "";
    const fail = (error: string, status: 403 | 429 | 400 = 403) =>
      render(c, <LoginPage error={error} username={username} />, status);
    try {
      const address = actorOf(c).address;
      await c.var.services.loginLimiter.consume(`console-login:${address}`);
      const user = await c.var.services.auth.checkPassword(username, password);
      if (user.role !== "admin") return fail("This account is not an administrator.");
      const cookie = await c.var.services.consoleSessions.issue(user.id);
      await c.var.services.admin.recordSignIn({ id: user.id, username: user.username, address }, user);
      setCookie(c, COOKIE, cookie, {
        path: "/admin",
        httpOnly: true,
        sameSite: "Strict",
        secure: overHttps(c),
        maxAge: CONSOLE_SESSION_SECONDS,
      });
      return c.redirect("/admin/users", 303);
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      if (err.code === "rate_limited") return fail("Too many attempts. Wait a minute and try again.", 429);
      if (err.code === "account_disabled") return fail("This account is disabled.");
      return fail("Wrong username or password.");
    }
  });

  // Everything below needs a signed-in, still enabled administrator.
  app.use("/admin/*", async (c, next) => {
    const session = await c.var.services.consoleSessions.read(getCookie(c, COOKIE));
    const signIn = () => {
      deleteCookie(c, COOKIE, { path: "/admin" });
      return c.req.method === "GET" ? c.redirect("/admin/login", 303) : c.redirect("/admin/login", 303);
    };
    if (!session) return signIn();
    let role: string;
    try {
      role = await c.var.services.accountStatus.authenticate(session.userId, session.issuedAt);
    } catch (err) {
      if (err instanceof AppError && err.code === "unauthorized") return signIn();
      throw err;
    }
    if (role !== "admin") return signIn();
    if (c.req.method === "POST") {
      const form = await c.req.parseBody();
      if (!sameOrigin(c) || !c.var.services.consoleSessions.csrfMatches(session, form.csrf))
        return render(
          c,
          <Layout title="Refused">The form was stale or came from another site. Go back and try again.</Layout>,
          403,
        );
    }
    const me = await c.var.services.admin.getUser(session.userId);
    c.set("userId", session.userId);
    c.set("viewer", { username: me.username, csrf: session.csrf });
    await next();
  });

  app.get("/admin", (c) => c.redirect("/admin/users", 303));
  app.get("/admin/", (c) => c.redirect("/admin/users", 303));

  app.post("/admin/logout", (c) => {
    deleteCookie(c, COOKIE, { path: "/admin" });
    return c.redirect("/admin/login", 303);
  });

  app.get("/admin/users", async (c) => {
    const q = (c.req.query("q") ?? "").slice(0, 254);
    const status = c.req.query("status");
    const filter = status === "enabled" || status === "disabled" ? status : "all";
    const page = positive(c.req.query("page"));
    const result = await c.var.services.admin.listUsers({
      q,
      disabled: filter === "all" ? undefined : filter === "disabled",
      limit: PAGE_SIZE,
      offset: (page - 1) * PAGE_SIZE,
    });
    return render(c, <UsersPage viewer={c.var.viewer} q={q} filter={filter} page={result} />);
  });

  app.get("/admin/users/:id{[1-9][0-9]{0,15}}", async (c) => {
    const user = await findUser(c);
    if (!user) return notFound(c);
    const done = c.req.query("done");
    const notice = done && ACTIONS.has(done) ? ACTION_TEXT[done as ConsoleAction].done : undefined;
    return render(c, <UserPage viewer={c.var.viewer} user={user} notice={notice} />);
  });

  app.get("/admin/users/:id{[1-9][0-9]{0,15}}/confirm/:action", async (c) => {
    const action = c.req.param("action");
    const user = await findUser(c);
    if (!user || !ACTIONS.has(action)) return notFound(c);
    return render(c, <ConfirmPage viewer={c.var.viewer} user={user} action={action as ConsoleAction} />);
  });

  app.post("/admin/users/:id{[1-9][0-9]{0,15}}/:action", async (c) => {
    const action = c.req.param("action") as ConsoleAction;
    const id = Number(c.req.param("id"));
    if (!ACTIONS.has(action)) return notFound(c);
    const admin = c.var.services.admin;
    const actor = { ...actorOf(c), username: c.var.viewer.username };
    try {
      if (action === "disable" || action === "enable") await admin.setDisabled(actor, id, action === "disable");
      else if (action === "revoke") await admin.revokeSessions(actor, id);
      else {
        await admin.deleteUser(actor, id);
        c.var.services.fileJanitor.poke();
      }
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      if (err.code === "not_found") return notFound(c);
      const user = await findUser(c);
      if (!user) return notFound(c);
      return render(c, <UserPage viewer={c.var.viewer} user={user} error={err.message} />, 409);
    }
    return c.redirect(action === "delete" ? "/admin/users" : `/admin/users/${id}?done=${action}`, 303);
  });

  app.get("/admin/audit", async (c) => {
    const page = positive(c.req.query("page"));
    const result = await c.var.services.admin.audit(PAGE_SIZE, (page - 1) * PAGE_SIZE);
    return render(c, <AuditPage viewer={c.var.viewer} page={result} />);
  });

  app.get("/admin/stats", async (c) =>
    render(c, <StatsPage viewer={c.var.viewer} stats={await c.var.services.admin.stats()} />),
  );

  app.all("/admin/*", (c) => notFound(c));
  return app;
}

async function findUser(c: ConsoleContext) {
  try {
    return await c.var.services.admin.getUser(Number(c.req.param("id")));
  } catch (err) {
    if (err instanceof AppError && err.code === "not_found") return undefined;
    throw err;
  }
}

const notFound = (c: ConsoleContext) =>
  render(
    c,
    <Layout title="Not found" viewer={c.var.viewer} section="users">
      <h1>Not found</h1>
      <p>
        <a href="/admin/users">Back to the users</a>
      </p>
    </Layout>,
    404,
  );
