import { type Context, Hono } from 'hono'
import { deleteCookie, setCookie } from 'hono/cookie'
import { GatewayError } from '../errors.js'
import { gatewayProblem } from '../problems.js'
import type { AuditEntry } from '../rollout/audit.js'
import type { GateVerdict } from '../rollout/ramp-gate.js'
import type { AdminEnv } from './api.js'
import { type AdminAuth, actorName, assertSameOrigin, SESSION_COOKIE } from './auth.js'
import { AuditTable, Layout, Notice, RouteCard, StoreBanner } from './components.js'
import { ADMIN_CSS } from './dashboard-css.js'
import { type AdminOperations, nextStage } from './operations.js'
import { ProgressPage } from './progress-page.js'

/**
 * `/admin`: the ops dashboard. Server-rendered, no script and nothing from another origin, so it
 * works on a laptop and a phone and its CSP can forbid everything else. Login with the admin
 * token sets a signed session cookie (HttpOnly, SameSite=Strict, Secure outside development);
 * every POST also checks `Origin` and a form token tied to the session. Step and kill ask for
 * a reason, then for a confirmation on a second page.
 */

export interface DashboardOptions {
  secureCookies: boolean
}

const CSP = [
  "default-src 'none'",
  "style-src 'self'",
  // The traffic bars set their widths inline; no script runs anywhere on these pages.
  "style-src-attr 'unsafe-inline'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ')

const ACTIONS = new Set(['step', 'kill'])

function page(
  c: Context<AdminEnv>,
  body: string | Promise<string>,
  status: 200 | 401 | 403 | 409 | 422 | 503 = 200,
) {
  c.header('content-security-policy', CSP)
  // `no-referrer` would make browsers send `Origin: null` on the dashboard's own forms.
  c.header('referrer-policy', 'same-origin')
  c.header('cache-control', 'no-store')
  return c.html(body, status)
}

export function adminDashboard(
  ops: AdminOperations,
  auth: AdminAuth,
  { secureCookies }: DashboardOptions,
) {
  const ui = new Hono<AdminEnv>()

  const session = async (c: Context<AdminEnv>) => {
    const s = await auth.fromSession(c)
    if (s) c.set('principal', s.principal)
    return s
  }

  async function render(
    c: Context<AdminEnv>,
    sessionValue: string,
    notice?: { kind: 'ok' | 'error'; text: string },
    status?: 200 | 409 | 422 | 503,
  ) {
    const table = ops.table()
    let entries: AuditEntry[] = []
    let auditError: string | undefined
    try {
      entries = await ops.history({ limit: 200 })
    } catch {
      auditError = 'The audit trail cannot be read right now'
    }
    const lastByRoute = new Map<string, AuditEntry>()
    for (const e of entries) if (!lastByRoute.has(e.routeId)) lastByRoute.set(e.routeId, e)
    const csrf = await auth.csrfToken(sessionValue)
    return page(
      c,
      <Layout title="BFF rollout">
        <header class="top">
          <h1>Rollout</h1>
          <a href="/admin/progress">Migration progress</a>
          <span class="who">{c.var.principal.actor}</span>
          <form method="post" action="/admin/logout">
            <input type="hidden" name="csrf" value={csrf} />
            <button type="submit" class="link">
              Log out
            </button>
          </form>
        </header>
        <StoreBanner status={table.store} version={table.version} source={table.source} />
        {notice ? <Notice {...notice} /> : null}
        {auditError ? <Notice kind="error" text={auditError} /> : null}
        <main class="routes">
          {ops.status().map((route) => (
            <RouteCard
              route={route}
              last={lastByRoute.get(route.id)}
              version={table.version}
              csrf={csrf}
            />
          ))}
        </main>
        <AuditTable entries={entries.slice(0, 30)} />
      </Layout>,
      status,
    )
  }

  ui.get('/assets/admin.css', (c) =>
    c.body(ADMIN_CSS, 200, {
      'content-type': 'text/css; charset=utf-8',
      'cache-control': 'public, max-age=300',
    }),
  )

  ui.get('/login', (c) => page(c, <LoginPage />))

  ui.post('/login', async (c) => {
    assertSameOrigin(c)
    const form = await c.req.parseBody()
    const token = typeof form.token === 'string' ? form.token : ''
    if (!auth.checkToken(token))
      return page(c, <LoginPage error="That is not the admin token" />, 401)
    const name = actorName(typeof form.name === 'string' ? form.name : undefined)
    setCookie(c, SESSION_COOKIE, await auth.issueSession(name ? `token:${name}` : 'token'), {
      httpOnly: true,
      sameSite: 'Strict',
      secure: secureCookies,
      path: '/admin',
      maxAge: auth.sessionSeconds,
    })
    return c.redirect('/admin', 303)
  })

  ui.post('/logout', async (c) => {
    assertSameOrigin(c)
    await auth.endSession(c)
    deleteCookie(c, SESSION_COOKIE, { path: '/admin', secure: secureCookies })
    return c.redirect('/admin/login', 303)
  })

  ui.get('/', async (c) => {
    const s = await session(c)
    if (!s) return c.redirect('/admin/login', 303)
    return render(c, s.value)
  })

  ui.get('/progress', async (c) => {
    const s = await session(c)
    if (!s) return c.redirect('/admin/login', 303)
    const days = Number(c.req.query('days') ?? '')
    const report = await ops.progress({
      removableDays: Number.isInteger(days) && days >= 1 && days <= 365 ? days : undefined,
    })
    return page(c, <ProgressPage report={report} samples={ops.shadowSamples().samples} />)
  })

  ui.post('/routes/:route/:action', async (c) => {
    const s = await session(c)
    if (!s) return c.redirect('/admin/login', 303)
    assertSameOrigin(c)
    const form = await c.req.parseBody()
    const field = (name: string) => (typeof form[name] === 'string' ? (form[name] as string) : '')
    if (!auth.checkCsrf(field('csrf'), await auth.csrfToken(s.value))) {
      throw gatewayProblem('csrf-refused', {
        detail: 'Reload the dashboard and try again',
        errors: [{ field: 'csrf', message: 'does not match the session' }],
      })
    }
    const routeId = c.req.param('route')
    const action = c.req.param('action')
    if (!ACTIONS.has(action)) return c.notFound()
    const request = {
      routeId,
      reason: field('reason'),
      expectedVersion: field('version') || undefined,
      actor: s.principal.actor,
      source: 'dashboard' as const,
      requestId: c.var.requestId,
      force: field('force') === 'yes',
    }
    if (field('confirm') !== 'yes') {
      const current = ops.table().routes.find((r) => r.id === routeId)
      const to = action === 'kill' ? 0 : nextStage(current?.native ?? 0)
      let gate: GateVerdict | { error: string } | undefined
      if (action === 'step' && to !== undefined) {
        try {
          gate = await ops.gate(routeId)
        } catch (error) {
          gate = {
            error: error instanceof GatewayError ? (error.detail ?? error.title) : 'unavailable',
          }
        }
      }
      return page(
        c,
        <ConfirmPage
          routeId={routeId}
          action={action}
          from={current?.native ?? 0}
          to={to}
          reason={request.reason}
          version={field('version')}
          csrf={field('csrf')}
          gate={gate}
        />,
      )
    }
    try {
      const result = action === 'step' ? await ops.step(request) : await ops.kill(request)
      return render(c, s.value, {
        kind: 'ok',
        text: `${result.routeId}: ${result.from} % → ${result.to} % (version ${result.version}, audit #${result.audit.id})${'forced' in result && result.forced ? ', forced past the ramp gate' : ''}`,
      })
    } catch (error) {
      if (!(error instanceof GatewayError) || (error.status >= 500 && error.status !== 503))
        throw error
      return render(
        c,
        s.value,
        { kind: 'error', text: `${routeId}: ${error.detail ?? error.title}` },
        error.status as 409 | 422 | 503,
      )
    }
  })

  return ui
}

function LoginPage({ error }: { error?: string }) {
  return (
    <Layout title="BFF rollout: log in">
      <main class="login">
        <h1>Rollout</h1>
        {error ? <Notice kind="error" text={error} /> : null}
        <form method="post" action="/admin/login">
          <label>
            Admin token
            <input type="password" name="token" required autocomplete="current-password" />
          </label>
          <label>
            Your name (for the audit trail)
            <input
              type="text"
              name="name"
              maxlength={64}
              pattern="[A-Za-z0-9._@-]+"
              autocomplete="username"
            />
          </label>
          <button type="submit">Log in</button>
        </form>
      </main>
    </Layout>
  )
}

function ConfirmPage(props: {
  routeId: string
  action: string
  from: number
  to: number | undefined
  reason: string
  version: string
  csrf: string
  gate?: GateVerdict | { error: string }
}) {
  const gate = props.gate
  const refused = gate !== undefined && ('error' in gate || !gate.ok)
  return (
    <Layout title={`Confirm ${props.action} ${props.routeId}`}>
      <main class="confirm">
        <h1>Confirm</h1>
        <p>
          {props.action === 'kill' ? 'Kill' : 'Step'} <strong>{props.routeId}</strong> from{' '}
          {props.from} % to <strong>{props.to ?? props.from} %</strong>?
        </p>
        {gate && 'error' in gate ? (
          <p class="gate refused" data-testid="gate">
            The ramp gate cannot judge: {gate.error}
          </p>
        ) : gate ? (
          <div class={gate.ok ? 'gate' : 'gate refused'} data-testid="gate">
            <p>
              Fleet, last {gate.windowMinutes} min: native {gate.figures.native.requests} req,{' '}
              {(gate.figures.native.errorRate * 100).toFixed(2)} % errors, p95{' '}
              {gate.figures.native.p95Ms ?? '–'} ms · legacy {gate.figures.legacy.requests} req,{' '}
              {(gate.figures.legacy.errorRate * 100).toFixed(2)} % errors, p95{' '}
              {gate.figures.legacy.p95Ms ?? '–'} ms · shadow {gate.figures.shadow.mismatch} of{' '}
              {gate.figures.shadow.match + gate.figures.shadow.mismatch} differ
            </p>
            {gate.ok ? (
              <p>The ramp gate allows this step.</p>
            ) : (
              <>
                <p>The ramp gate refuses this step:</p>
                <ul>
                  {gate.refusals.map((r) => (
                    <li>{r.message}</li>
                  ))}
                </ul>
              </>
            )}
          </div>
        ) : null}
        <form method="post" action={`/admin/routes/${props.routeId}/${props.action}`}>
          <input type="hidden" name="version" value={props.version} />
          <input type="hidden" name="csrf" value={props.csrf} />
          <input type="hidden" name="confirm" value="yes" />
          {refused ? (
            <label class="force">
              <input type="checkbox" name="force" value="yes" required />
              Force past the ramp gate (recorded in the audit trail with the reason)
            </label>
          ) : null}
          <label>
            Reason
            <input
              type="text"
              name="reason"
              value={props.reason}
              required
              minlength={3}
              maxlength={500}
            />
          </label>
          <button type="submit" class={props.action}>
            Yes, {props.action}
          </button>
          <a href="/admin">Cancel</a>
        </form>
      </main>
    </Layout>
  )
}
