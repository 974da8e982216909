/** The dashboard's only stylesheet, served from `/admin/assets/admin.css` (no external CDN). */
export const ADMIN_CSS = `
:root { color-scheme: light dark; --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --line: #8884;
  --native: #2f81f7; --legacy: #8b949e; --fallback: #d29922; font-family: system-ui, sans-serif; }
* { box-sizing: border-box; }
body { margin: 0; padding: 0.75rem; line-height: 1.4; }
h1 { font-size: 1.3rem; margin: 0; }
h2 { font-size: 1rem; margin: 0; overflow-wrap: anywhere; }
.top { display: flex; gap: 0.75rem; align-items: center; flex-wrap: wrap; }
.top .who { margin-left: auto; opacity: 0.8; }
.store { display: flex; flex-wrap: wrap; gap: 0.5rem 1rem; margin: 0.75rem 0; font-size: 0.9rem; }
.ok { color: var(--ok); } .bad { color: var(--bad); font-weight: 600; }
.notice { padding: 0.5rem 0.75rem; border-radius: 6px; border: 1px solid var(--line); }
.notice.ok { border-color: var(--ok); } .notice.error { border-color: var(--bad); color: var(--bad); }
.routes { display: grid; gap: 0.75rem; grid-template-columns: repeat(auto-fill, minmax(min(100%, 21rem), 1fr)); }
.route { border: 1px solid var(--line); border-radius: 8px; padding: 0.75rem; }
.route.held { border-color: var(--bad); }
.route header { display: flex; justify-content: space-between; gap: 0.5rem; align-items: baseline; }
.stage { font-weight: 700; white-space: nowrap; }
.meta, .last { font-size: 0.85rem; opacity: 0.85; margin: 0.35rem 0; overflow-wrap: anywhere; }
.hold { color: var(--bad); font-size: 0.9rem; margin: 0.35rem 0; }
.breaker.open { color: var(--bad); font-weight: 700; } .breaker.half-open { color: var(--warn); }
.split .bar { display: flex; height: 0.6rem; border-radius: 3px; overflow: hidden; background: var(--line); }
.split .native { background: var(--native); } .split .legacy { background: var(--legacy); }
.split .fallback { background: var(--fallback); }
.split small { font-size: 0.8rem; opacity: 0.85; }
table { border-collapse: collapse; width: 100%; font-size: 0.85rem; }
th, td { text-align: left; padding: 0.2rem 0.4rem; border-bottom: 1px solid var(--line); vertical-align: top; }
.sides { margin: 0.4rem 0; } .sides td { font-variant-numeric: tabular-nums; }
.controls { display: grid; gap: 0.4rem; }
.control { display: flex; gap: 0.4rem; }
.control input[type=text] { flex: 1; min-width: 0; }
input, button { font: inherit; padding: 0.45rem 0.6rem; border-radius: 6px; border: 1px solid var(--line); }
button { cursor: pointer; white-space: nowrap; min-height: 2.5rem; }
button.kill, .control.kill button { border-color: var(--bad); color: var(--bad); }
button.link { border: none; background: none; text-decoration: underline; min-height: auto; }
.audit { margin-top: 1.25rem; } .scroll { overflow-x: auto; }
.login, .confirm { max-width: 28rem; margin: 2rem auto; display: grid; gap: 0.75rem; }
.login form, .confirm form { display: grid; gap: 0.75rem; }
label { display: grid; gap: 0.25rem; }
.summary { font-size: 1rem; margin: 0.75rem 0; }
.progress-route { border: 1px solid var(--line); border-radius: 8px; padding: 0.75rem; }
.progress-route header { display: flex; justify-content: space-between; gap: 0.5rem; }
.removable { font-size: 0.85rem; margin: 0.35rem 0; } .removable.ok { font-weight: 700; }
.charts { display: grid; gap: 0.4rem; } .chart { margin: 0; } .chart svg { max-width: 100%; height: auto; }
.chart figcaption { font-size: 0.75rem; opacity: 0.85; }
.chart .axis { stroke: var(--line); stroke-width: 1; }
.chart polyline { fill: none; stroke-width: 1.5; }
.chart .native-line { stroke: var(--native); } .chart .legacy-line { stroke: var(--legacy); }
.native-key { color: var(--native); } .legacy-key { color: var(--legacy); }
.gate { font-size: 0.9rem; } .gate.refused { color: var(--bad); }
.gate ul { margin: 0.25rem 0; padding-left: 1.2rem; }
label.force { display: flex; gap: 0.4rem; align-items: center; color: var(--bad); }
`
