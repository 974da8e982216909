/**
 * The ramp gate: whether a route may move to its next stage, judged on the fleet's figures over
 * the route's window with the route's rollback thresholds (`flags.json` `rollback`). It refuses
 * when native errs or is slow beyond what auto-rollback would tolerate, when shadow answers
 * disagree too often, or when there is too little native traffic to judge; each refusal names
 * the figure, the limit and by how much it is missed.
 */

import type { RollbackSettings } from './flags.js'
import type { Figures } from './fleet-stats.js'

export type GateCheck = 'traffic' | 'error-rate' | 'p95' | 'shadow'

export interface GateRefusal {
  check: GateCheck
  /** The figure that failed and the limit it was held to (rates as fractions, latency in ms). */
  figure: number
  limit: number
  /** How far past the limit (or short of it, for traffic). */
  by: number
  message: string
  /** A short form for the audit trail. */
  short: string
}

export interface GateVerdict {
  ok: boolean
  refusals: GateRefusal[]
  windowMinutes: number
  figures: Figures
}

/** The gate looks at the route's auto-rollback window, but never less than this. */
export const MIN_GATE_WINDOW_MINUTES = 5

export const gateWindowMinutes = (settings: RollbackSettings) =>
  Math.max(MIN_GATE_WINDOW_MINUTES, Math.ceil(settings.windowSeconds / 60))

const pct = (rate: number) => `${(rate * 100).toFixed(2)} %`
const points = (rate: number) => `${(rate * 100).toFixed(2)} points`

/**
 * Judge a step from `fromPercent`. At 0 % there is no native traffic to speak of (canaries
 * aside): the traffic check waits for the first stage, the rate checks apply only when there
 * are enough native requests, and the shadow check always applies.
 */
export function judgeStep(
  figures: Figures,
  settings: RollbackSettings,
  { fromPercent, windowMinutes }: { fromPercent: number; windowMinutes: number },
): GateVerdict {
  const refusals: GateRefusal[] = []
  const { native, legacy, shadow } = figures
  const enoughNative = native.requests >= settings.minSamples
  if (fromPercent > 0 && !enoughNative) {
    const short = settings.minSamples - native.requests
    refusals.push({
      check: 'traffic',
      figure: native.requests,
      limit: settings.minSamples,
      by: short,
      message: `too little native traffic to judge: ${native.requests} native requests in the last ${windowMinutes} min, at least ${settings.minSamples} needed (${short} short)`,
      short: `traffic ${native.requests}<${settings.minSamples}`,
    })
  }
  if (enoughNative) {
    const limit = Math.max(settings.minErrorRate, legacy.errorRate * settings.errorRateRatio)
    if (native.errorRate > limit) {
      refusals.push({
        check: 'error-rate',
        figure: native.errorRate,
        limit,
        by: native.errorRate - limit,
        message: `native error rate ${pct(native.errorRate)} (${native.errors} of ${native.requests}) is worse than legacy's ${pct(legacy.errorRate)}: the limit is ${pct(limit)} (legacy × ${settings.errorRateRatio}, at least ${pct(settings.minErrorRate)}), over by ${points(native.errorRate - limit)}`,
        short: `error-rate ${pct(native.errorRate)}>${pct(limit)}`,
      })
    }
  }
  if (
    enoughNative &&
    legacy.requests >= settings.minSamples &&
    native.p95Ms !== undefined &&
    legacy.p95Ms !== undefined
  ) {
    const limit = Math.max(settings.minLatencyMs, legacy.p95Ms * settings.latencyRatio)
    if (native.p95Ms > limit) {
      const shown = Number.isFinite(native.p95Ms) ? `${native.p95Ms} ms` : 'over 30000 ms'
      refusals.push({
        check: 'p95',
        figure: native.p95Ms,
        limit,
        by: native.p95Ms - limit,
        message: `native p95 ${shown} is worse than legacy's ${legacy.p95Ms} ms: the limit is ${limit} ms (legacy × ${settings.latencyRatio}, at least ${settings.minLatencyMs} ms), over by ${Number.isFinite(native.p95Ms) ? `${native.p95Ms - limit} ms` : 'more than 30 s'}`,
        short: `p95 ${shown}>${limit} ms`,
      })
    }
  }
  const compared = shadow.match + shadow.mismatch
  if (compared > 0) {
    const rate = shadow.mismatch / compared
    const limit = settings.maxShadowMismatchRate
    if (rate > limit) {
      refusals.push({
        check: 'shadow',
        figure: rate,
        limit,
        by: rate - limit,
        message: `shadow mismatches ${shadow.mismatch} of ${compared} compared (${pct(rate)}) exceed ${pct(limit)} by ${points(rate - limit)}`,
        short: `shadow ${pct(rate)}>${pct(limit)}`,
      })
    }
  }
  return { ok: refusals.length === 0, refusals, windowMinutes, figures }
}
