import type { ShadowSample } from '../rollout/shadow.js'
import { Layout } from './components.js'
import type { ChartPoint, ProgressReport, RouteProgress, Share } from './progress.js'

/**
 * `/admin/progress`: the strangler progress view, server-rendered like the rest of the
 * dashboard. Charts are inline SVG (no script, nothing fetched from elsewhere).
 */

const pct = (n: number, of: number) => (of ? `${((n / of) * 100).toFixed(1)} %` : '–')

function ShareBar({ share, label }: { share: Share; label: string }) {
  const w = (n: number) => (share.requests ? `${(n / share.requests) * 100}%` : '0%')
  return (
    <div class="split" data-testid={`share-${label.replace(/\s/g, '')}`}>
      <div class="bar" title={`${label}: native / legacy / fallback`}>
        <span class="native" style={`width:${w(share.native)}`} />
        <span class="fallback" style={`width:${w(share.fallback)}`} />
        <span class="legacy" style={`width:${w(share.legacy)}`} />
      </div>
      <small>
        {label}: {share.requests} req · native {pct(share.native, share.requests)} · legacy{' '}
        {pct(share.legacy, share.requests)} · fallback {pct(share.fallback, share.requests)}
      </small>
    </div>
  )
}

const W = 336
const H = 56

/** Polylines of one series over the 7 days (one point an hour), broken where there is no data. */
function segments(points: ChartPoint[], value: (p: ChartPoint) => number | null, max: number) {
  const out: string[] = []
  let current: string[] = []
  points.forEach((p, i) => {
    const v = value(p)
    if (v === null) {
      if (current.length) out.push(current.join(' '))
      current = []
      return
    }
    const x = ((i / Math.max(1, points.length - 1)) * W).toFixed(1)
    const y = (H - (Math.min(v, max) / max) * (H - 4) - 2).toFixed(1)
    current.push(`${x},${y}`)
  })
  if (current.length) out.push(current.join(' '))
  // A lone point is drawn as a short dash so it stays visible.
  return out.map((s) =>
    s.includes(' ') ? s : `${s} ${Number(s.split(',')[0]) + 2},${s.split(',')[1]}`,
  )
}

function Chart({
  title,
  points,
  native,
  legacy,
  unit,
  testid,
}: {
  title: string
  points: ChartPoint[]
  native: (p: ChartPoint) => number | null
  legacy: (p: ChartPoint) => number | null
  unit: (v: number) => string
  testid: string
}) {
  const values = points.flatMap((p) => [native(p), legacy(p)]).filter((v) => v !== null) as number[]
  const max = Math.max(...values, 0) || 1
  return (
    <figure class="chart" data-testid={testid}>
      <svg viewBox={`0 0 ${W} ${H}`} width={W} height={H} role="img" aria-label={title}>
        <title>{`${title} (max ${unit(max)})`}</title>
        <line x1="0" y1={H - 2} x2={W} y2={H - 2} class="axis" />
        {segments(points, legacy, max).map((s) => (
          <polyline points={s} class="legacy-line" />
        ))}
        {segments(points, native, max).map((s) => (
          <polyline points={s} class="native-line" />
        ))}
      </svg>
      <figcaption>
        {title}: <span class="native-key">native</span> vs <span class="legacy-key">legacy</span>, 7
        days, max {unit(max)}
      </figcaption>
    </figure>
  )
}

function RouteRow({ r }: { r: RouteProgress }) {
  const compared = r.shadow24h.match + r.shadow24h.mismatch
  return (
    <section
      class={`progress-route state-${r.state.replace(/[^a-z]/g, '')}`}
      id={`progress-${r.id}`}
    >
      <header>
        <h2>{r.id}</h2>
        <span class="stage" data-testid="state">
          {r.state}
        </span>
      </header>
      <p class="meta">
        phase {r.phase} · native {r.percent} % · {r.summary}
      </p>
      <ShareBar share={r.share24h} label="24 h" />
      <ShareBar share={r.share7d} label="7 d" />
      <p class="meta" data-testid="parity">
        parity:{' '}
        {r.parity
          ? `${r.parity.failed ? 'FAILED' : 'passed'} ${r.parity.passed}/${r.parity.passed + r.parity.failed} on ${r.parity.at.slice(0, 16).replace('T', ' ')} by ${r.parity.actor}`
          : 'no run reported'}
        {' · '}shadow:{' '}
        {r.shadowPercent > 0 || compared > 0
          ? `${r.shadowPercent} %, ${r.shadow24h.mismatch} mismatches of ${compared} in 24 h`
          : 'off'}
      </p>
      <p class="meta" data-testid="last-change">
        last change:{' '}
        {r.lastChange
          ? `${r.lastChange.at.slice(0, 16).replace('T', ' ')} ${r.lastChange.from} % → ${r.lastChange.to} % by ${r.lastChange.actor}`
          : 'none recorded'}
      </p>
      <p class={r.removable ? 'removable ok' : 'removable'} data-testid="removable">
        {r.removable ? 'Removable: ' : 'Not removable: '}
        {r.removableNote}
      </p>
      {r.nativeCapable ? (
        <div class="charts">
          <Chart
            title="error rate"
            testid={`chart-errors-${r.id}`}
            points={r.chart}
            native={(p) => p.nativeErrorRate}
            legacy={(p) => p.legacyErrorRate}
            unit={(v) => `${(v * 100).toFixed(1)} %`}
          />
          <Chart
            title="p95"
            testid={`chart-p95-${r.id}`}
            points={r.chart}
            native={(p) => p.nativeP95Ms}
            legacy={(p) => p.legacyP95Ms}
            unit={(v) => `${Math.round(v)} ms`}
          />
        </div>
      ) : null}
    </section>
  )
}

export function ProgressPage({
  report,
  samples,
}: {
  report: ProgressReport
  samples: ShadowSample[]
}) {
  const s = report.summary
  return (
    <Layout title="BFF migration progress">
      <header class="top">
        <h1>Migration progress</h1>
        <a href="/admin">Rollout</a>
      </header>
      <p class="summary" data-testid="summary">
        <strong>{s.nativeCapable}</strong> of {s.functions} functions native-capable ·{' '}
        <strong>{s.ramping}</strong> ramping · <strong>{s.atFull}</strong> at 100 % ·{' '}
        <strong>{s.removable}</strong> removable (native only for {report.removableDays} days)
      </p>
      <main class="routes">
        {report.routes.map((r) => (
          <RouteRow r={r} />
        ))}
      </main>
      <section class="audit">
        <h2>Recent shadow mismatches on this instance (masked)</h2>
        {samples.length === 0 ? (
          <p class="meta">none</p>
        ) : (
          <div class="scroll">
            <table data-testid="shadow-samples">
              <thead>
                <tr>
                  <th>When (UTC)</th>
                  <th>Route</th>
                  <th>Served by</th>
                  <th>Field</th>
                  <th>Native</th>
                  <th>Legacy</th>
                </tr>
              </thead>
              <tbody>
                {samples.slice(0, 20).flatMap((sample) =>
                  sample.differences.slice(0, 5).map((d) => (
                    <tr>
                      <td>{new Date(sample.at).toISOString().slice(0, 19).replace('T', ' ')}</td>
                      <td>{sample.route}</td>
                      <td>{sample.served}</td>
                      <td>{d.field}</td>
                      <td>{d.native}</td>
                      <td>{d.legacy}</td>
                    </tr>
                  )),
                )}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </Layout>
  )
}
