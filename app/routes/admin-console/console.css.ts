/** The console's only stylesheet, served from /admin/static/ (the CSP allows no inline style). */
export const CONSOLE_CSS = `
:root { color-scheme: light; --ink: #1d2330; --muted: #5b6475; --line: #d8dde6; --accent: #2457c5; --bad: #b42318; --ok: #067647; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); background: #f6f7f9; }
header { display: flex; gap: 1.5rem; align-items: center; padding: .75rem 1.5rem; background: #fff; border-bottom: 1px solid var(--line); }
header .brand { font-weight: 700; }
header nav { display: flex; gap: 1rem; flex: 1; }
header nav a { color: var(--muted); text-decoration: none; }
header nav a.here { color: var(--ink); font-weight: 600; }
header form { margin: 0; }
main { max-width: 1100px; margin: 1.5rem auto; padding: 0 1.5rem; }
h1 { font-size: 1.35rem; margin: 0 0 1rem; }
table { width: 100%; border-collapse: collapse; background: #fff; border: 1px solid var(--line); }
th, td { text-align: left; padding: .5rem .75rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: .8rem; text-transform: uppercase; letter-spacing: .03em; color: var(--muted); }
a { color: var(--accent); }
.muted { color: var(--muted); }
.tag { display: inline-block; padding: 0 .45rem; border-radius: .6rem; font-size: .8rem; border: 1px solid var(--line); }
.tag.admin { border-color: var(--accent); color: var(--accent); }
.tag.disabled { border-color: var(--bad); color: var(--bad); }
.tag.enabled { border-color: var(--ok); color: var(--ok); }
form.search { display: flex; gap: .5rem; margin-bottom: 1rem; }
input, select, button { font: inherit; padding: .4rem .6rem; border: 1px solid var(--line); border-radius: .35rem; background: #fff; }
button { cursor: pointer; background: var(--accent); color: #fff; border-color: var(--accent); }
button.secondary { background: #fff; color: var(--ink); border-color: var(--line); }
button.danger { background: var(--bad); border-color: var(--bad); }
.paging { display: flex; gap: 1rem; align-items: center; margin-top: 1rem; }
.card { background: #fff; border: 1px solid var(--line); border-radius: .5rem; padding: 1rem 1.25rem; margin-bottom: 1rem; }
.card dl { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1.25rem; margin: 0; }
.card dt { color: var(--muted); }
.card dd { margin: 0; }
.actions { display: flex; gap: .75rem; flex-wrap: wrap; }
.actions a { padding: .4rem .75rem; border: 1px solid var(--line); border-radius: .35rem; background: #fff; text-decoration: none; }
.actions a.danger { color: var(--bad); border-color: var(--bad); }
.notice { padding: .6rem .9rem; border-radius: .35rem; margin-bottom: 1rem; background: #ecfdf3; border: 1px solid #abefc6; }
.notice.error { background: #fef3f2; border-color: #fecdca; }
.login { max-width: 360px; margin: 4rem auto; }
.login form { display: grid; gap: .75rem; }
.login input { width: 100%; }
.figures { display: grid; grid-template-columns: repeat(4, 1fr); gap: 1rem; margin-bottom: 1rem; }
.figures .card strong { display: block; font-size: 1.6rem; }
svg.chart { width: 100%; height: auto; background: #fff; border: 1px solid var(--line); border-radius: .5rem; }
svg.chart .bar { fill: var(--accent); }
svg.chart .axis { stroke: var(--line); }
svg.chart text { fill: var(--muted); font-size: 11px; }
`;
