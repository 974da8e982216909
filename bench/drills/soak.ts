import { setTimeout as sleep } from 'node:timers/promises'
import { memoryOf } from '../lib/proc.js'
import { MixedLoad, quantileMs, type Sample, summarize } from './lib/load.js'
import { checkNothingReadLost } from './lib/losses.js'
import { type DrillReport, ReportBuilder, runAsScript } from './lib/report.js'
import { fdCount, startStage } from './lib/stage.js'

/**
 * Soak (`npm run drills -- soak`): mixed load at a fixed rate for `seconds` (10 minutes; the
 * short form in `npm test` runs about 20 s), sampling the gateway's RSS, V8 heap (`/metrics`),
 * file descriptors and the p99 of each interval. After a warm-up (the first fifth), each series
 * gets a least-squares line; a series fails when its fitted growth over the run is beyond the
 * noise (three standard deviations of the residuals) and beyond a floor that a leak worth
 * finding would pass: RSS 32 MiB, heap 16 MiB, 5 descriptors, p99 50 ms.
 */

export interface SoakOptions {
  seconds?: number
  rate?: number
  sampleMs?: number
  /** Judge the p99 trend too (the full run; the short form checks invariants only). */
  judgeLatency?: boolean
  users?: number
}

interface Point {
  t: number
  rss: number
  heap: number
  fds: number
  p99: number
}

export interface Trend {
  /** Units per minute. */
  slope: number
  /** Fitted growth over the judged span. */
  growth: number
  /** Standard deviation of the residuals. */
  noise: number
}

export function trend(points: readonly { t: number; v: number }[]): Trend {
  const n = points.length
  if (n < 3) return { slope: 0, growth: 0, noise: 0 }
  const mt = points.reduce((s, p) => s + p.t, 0) / n
  const mv = points.reduce((s, p) => s + p.v, 0) / n
  let sxy = 0
  let sxx = 0
  for (const p of points) {
    sxy += (p.t - mt) * (p.v - mv)
    sxx += (p.t - mt) ** 2
  }
  const b = sxx === 0 ? 0 : sxy / sxx
  const residuals = points.map((p) => p.v - (mv + b * (p.t - mt)))
  const noise = Math.sqrt(residuals.reduce((s, r) => s + r * r, 0) / (n - 2))
  const span = (points[n - 1]?.t ?? 0) - (points[0]?.t ?? 0)
  return { slope: b * 60_000, growth: b * span, noise }
}

async function heapUsed(url: string, token: string): Promise<number> {
  const res = await fetch(`${url}/metrics`, {
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(5_000),
  })
  const text = await res.text()
  return Number(/^nodejs_heap_size_used_bytes (\d+)$/m.exec(text)?.[1] ?? Number.NaN)
}

export async function soakDrill({
  seconds = 600,
  rate = 40,
  sampleMs = 2_000,
  judgeLatency = true,
  users = 300,
}: SoakOptions = {}): Promise<DrillReport> {
  const r = new ReportBuilder('soak')
  // LOG_LEVEL info (the default): one access line per request, so a failed request can be
  // looked up, and the soak measures the logging production runs with.
  const stage = await startStage({ users, env: { LOG_LEVEL: 'info' } })
  try {
    const pid = stage.gateway.child.pid as number
    const dbPort = [Number(new URL(stage.databaseUrl).port || 5432)]
    const load = new MixedLoad(stage, {
      rate,
      mix: { proxy: 3, checkout: 2, refund: 1, ai: 1, webhook: 2, admin: 1 },
    }).start()
    const began = Date.now()
    const points: Point[] = []
    let seen = 0
    while (Date.now() - began < seconds * 1000) {
      await sleep(sampleMs)
      const window: Sample[] = load.samples.slice(seen)
      seen += window.length
      points.push({
        t: Date.now() - began,
        rss: memoryOf(pid).rss,
        heap: await heapUsed(stage.url, stage.adminToken),
        fds: fdCount(pid, dbPort),
        p99: quantileMs(window, 0.99),
      })
    }
    const samples = await load.stop()
    r.addLoad(summarize(samples))
    r.figure('duration (s)', seconds)
    r.figure('samples', points.length)
    r.figure(
      'p50 / p99 overall (ms)',
      `${quantileMs(samples, 0.5).toFixed(1)} / ${quantileMs(samples, 0.99).toFixed(1)}`,
    )

    const judged = points.slice(Math.floor(points.length / 5))
    const MiB = 1024 * 1024
    const series = [
      {
        name: 'RSS',
        unit: 'MiB',
        scale: MiB,
        floor: 32 * MiB,
        pick: (p: Point) => p.rss,
        judge: true,
      },
      {
        name: 'heap used',
        unit: 'MiB',
        scale: MiB,
        floor: 16 * MiB,
        pick: (p: Point) => p.heap,
        judge: true,
      },
      { name: 'descriptors', unit: '', scale: 1, floor: 5, pick: (p: Point) => p.fds, judge: true },
      {
        name: 'p99',
        unit: 'ms',
        scale: 1,
        floor: 50,
        pick: (p: Point) => p.p99,
        judge: judgeLatency,
      },
    ]
    for (const s of series) {
      const pts = judged.map((p) => ({ t: p.t, v: s.pick(p) })).filter((p) => Number.isFinite(p.v))
      const t = trend(pts)
      const first = pts[0]?.v ?? Number.NaN
      const last = pts[pts.length - 1]?.v ?? Number.NaN
      const f = (v: number) => (v / s.scale).toFixed(s.scale === 1 ? 1 : 2)
      const line = `slope ${f(t.slope)} ${s.unit}/min, fitted growth ${f(t.growth)} ${s.unit}, noise ±${f(3 * t.noise)} ${s.unit}; ${f(first)} → ${f(last)} ${s.unit}`
      if (!s.judge) {
        r.figure(`${s.name} trend`, line)
        continue
      }
      r.check(
        `${s.name}: no growth beyond noise (floor ${f(s.floor)} ${s.unit})`,
        t.growth <= Math.max(3 * t.noise, s.floor),
        line,
      )
    }
    checkNothingReadLost(r, samples, stage.gateway.stdout, {
      unread: 'requests failed before the gateway read them (idle keep-alive race)',
      lost: 'no 5xx, nothing the gateway read lost',
    })
    r.check(
      'no crash',
      stage.gateway.child.exitCode === null,
      stage.gateway.stderr.join('\n').slice(0, 200) || 'stderr empty',
    )
  } finally {
    await stage.close()
  }
  return r.done()
}

if (process.argv[1]?.endsWith('soak.ts')) {
  const arg = process.argv.find((a) => a.startsWith('--seconds='))
  runAsScript(() => soakDrill(arg ? { seconds: Number(arg.slice(10)) } : {}))
}
