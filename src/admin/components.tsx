import type { Child } from 'hono/jsx'
import type { AuditEntry } from '../rollout/audit.js'
import type { FlagStoreStatus } from '../rollout/live-flags.js'
import type { SideStats } from '../rollout/traffic-window.js'
import type { RouteStatus } from './operations.js'

/** Small server-rendered pieces of the dashboard (hono/jsx, no client script). */

export function Layout({ title, children }: { title: string; children: Child }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex" />
        <title>{title}</title>
        <link rel="stylesheet" href="/admin/assets/admin.css" />
      </head>
      <body>{children}</body>
    </html>
  )
}

export function Notice({ kind, text }: { kind: 'ok' | 'error'; text: string }) {
  return (
    <p class={`notice ${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {text}
    </p>
  )
}

const percent = (rate: number) => `${(rate * 100).toFixed(1)} %`
const ms = (value: number | undefined) => (value === undefined ? '–' : `${value} ms`)

export function StoreBanner({
  status,
  version,
  source,
}: {
  status: FlagStoreStatus
  version: string
  source: string
}) {
  return (
    <div class="store">
      <span>
        Table <strong data-testid="table-version">{version}</strong> from {source}
      </span>
      {status.reachable ? (
        <span class="ok">store {status.store} reachable</span>
      ) : (
        <span class="bad" role="alert">
          store {status.store} unreachable ({status.lastError ?? 'no answer yet'}): serving the last
          good table
        </span>
      )}
      {status.rejected ? (
        <span class="bad" role="alert">
          stored version v{status.rejected.version} refused: {status.rejected.problems.join('; ')}
        </span>
      ) : null}
    </div>
  )
}

function Sides({ native, legacy }: { native: SideStats; legacy: SideStats }) {
  return (
    <table class="sides">
      <thead>
        <tr>
          <th />
          <th>native</th>
          <th>legacy</th>
        </tr>
      </thead>
      <tbody>
        <tr>
          <th>requests</th>
          <td>{native.requests}</td>
          <td>{legacy.requests}</td>
        </tr>
        <tr>
          <th>errors</th>
          <td>{percent(native.errorRate)}</td>
          <td>{percent(legacy.errorRate)}</td>
        </tr>
        <tr>
          <th>p95</th>
          <td>{ms(native.p95Ms)}</td>
          <td>{ms(legacy.p95Ms)}</td>
        </tr>
      </tbody>
    </table>
  )
}

function Split({ route }: { route: RouteStatus }) {
  const { native, legacy, fallbacks, seconds } = route.traffic
  const served = Math.max(native.requests - fallbacks, 0)
  const total = served + legacy.requests + fallbacks
  const share = (n: number) => (total ? Math.round((n / total) * 1000) / 10 : 0)
  return (
    <div class="split">
      <div class="bar" aria-hidden="true">
        <span class="native" style={`width:${share(served)}%`} />
        <span class="fallback" style={`width:${share(fallbacks)}%`} />
        <span class="legacy" style={`width:${share(legacy.requests)}%`} />
      </div>
      <small>
        last {seconds} s: native {share(served)} % · fallback {share(fallbacks)} % · legacy{' '}
        {share(legacy.requests)} %
      </small>
    </div>
  )
}

function ChangeForm(props: {
  route: RouteStatus
  action: 'step' | 'kill'
  label: string
  version: string
  csrf: string
  disabled: boolean
}) {
  return (
    <form
      method="post"
      action={`/admin/routes/${props.route.id}/${props.action}`}
      class={`control ${props.action}`}
    >
      <input type="hidden" name="version" value={props.version} />
      <input type="hidden" name="csrf" value={props.csrf} />
      <input
        type="text"
        name="reason"
        required
        minlength={3}
        maxlength={500}
        placeholder="Reason"
        aria-label={`Reason to ${props.action} ${props.route.id}`}
        disabled={props.disabled}
      />
      <button type="submit" disabled={props.disabled}>
        {props.label}
      </button>
    </form>
  )
}

export function RouteCard(props: {
  route: RouteStatus
  last: AuditEntry | undefined
  version: string
  csrf: string
}) {
  const { route, last } = props
  return (
    <section
      class={`route${route.hold ? ' held' : ''}`}
      id={`route-${route.id}`}
      data-route={route.id}
    >
      <header>
        <h2>{route.id}</h2>
        <span class="stage" data-testid="stage">
          {route.stayLegacy ? 'stays legacy' : route.stage}
        </span>
      </header>
      <p class="meta">
        phase {String(route.phase)}
        {route.group ? ` · group ${route.group}` : ''} · breaker{' '}
        <span class={`breaker ${route.breaker}`}>{route.breaker}</span>
        {route.controllable || route.stayLegacy ? '' : ' · no native handler in this build'}
      </p>
      {route.hold ? (
        <p class="hold" role="alert">
          Auto-rollback: on legacy until {new Date(route.hold.until).toISOString()} (was{' '}
          {route.hold.from} %): {route.hold.reason}
        </p>
      ) : null}
      <Split route={route} />
      <Sides native={route.traffic.native} legacy={route.traffic.legacy} />
      <p class="last">
        {last
          ? `Last change ${last.at}: ${last.from} % → ${last.to} % by ${last.actor} (${last.source}): ${last.reason}`
          : 'No change recorded'}
      </p>
      {route.controllable ? (
        <div class="controls">
          <ChangeForm
            route={route}
            action="step"
            label={route.next === undefined ? 'At 100 %' : `Step to ${route.next} %`}
            version={props.version}
            csrf={props.csrf}
            disabled={route.next === undefined}
          />
          <ChangeForm
            route={route}
            action="kill"
            label="Kill (0 %)"
            version={props.version}
            csrf={props.csrf}
            disabled={route.percent === 0}
          />
        </div>
      ) : null}
    </section>
  )
}

export function AuditTable({ entries }: { entries: AuditEntry[] }) {
  return (
    <section class="audit">
      <h2>Audit trail</h2>
      <div class="scroll">
        <table>
          <thead>
            <tr>
              <th>#</th>
              <th>when</th>
              <th>route</th>
              <th>change</th>
              <th>who</th>
              <th>source</th>
              <th>reason</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((e) => (
              <tr data-audit-id={String(e.id)}>
                <td>{e.id}</td>
                <td>{e.at.replace('T', ' ').slice(0, 19)}</td>
                <td>{e.routeId}</td>
                <td>
                  {e.from} % → {e.to} %
                </td>
                <td>{e.actor}</td>
                <td>{e.source}</td>
                <td>{e.reason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  )
}
