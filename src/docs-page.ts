import { html, raw } from 'hono/html'
import type { RouteDef } from './route-table.js'

/** `/docs`: the route table as a page (no external assets), linking `/openapi.json`. */
export function docsPage(routes: readonly RouteDef[]) {
  const rows = routes.map(
    (r) => html`<tr>
      <td><code>${r.id}</code></td>
      <td>${r.phase}</td>
      <td>${r.methods === '*' ? 'any' : r.methods.join(', ')}</td>
      <td><code>/functions/v1/${r.id}</code>${r.aliases.map((a) => html`<br /><code>${a}</code>`)}</td>
      <td>${r.policy.auth}</td>
      <td>${r.policy.rateLimit ? `${r.policy.rateLimit.limit}/${r.policy.rateLimit.windowSeconds}s, fails ${r.policy.rateLimit.failMode}` : 'none'}</td>
      <td>${Math.round(r.policy.bodyLimitBytes / 1024)} KiB</td>
      <td>${r.policy.replay}</td>
      <td>${r.summary}</td>
    </tr>`,
  )
  return html`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>BFF gateway routes</title>
    <style>
      ${raw(`body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#1d232a}
      table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.4rem;text-align:left;vertical-align:top}
      th{background:#f4f6f8}code{font-size:12px}@media(max-width:700px){td:nth-child(n+6),th:nth-child(n+6){display:none}}`)}
    </style>
  </head>
  <body>
    <h1>BFF gateway routes</h1>
    <p>Any other <code>/functions/v1/&lt;name&gt;</code> is proxied to the legacy function unchanged.
      Machine-readable: <a href="/openapi.json">/openapi.json</a>.</p>
    <table>
      <thead><tr><th>route</th><th>phase</th><th>methods</th><th>paths</th><th>auth</th><th>rate limit</th><th>body limit</th><th>replay to legacy</th><th>what</th></tr></thead>
      <tbody>${rows}</tbody>
    </table>
  </body>
</html>`
}
