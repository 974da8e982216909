import { setTimeout as sleep } from 'node:timers/promises'
import { killRoute, readFlags, samePercents } from './lib/admin.js'
import { type Kind, MixedLoad, type Sample, summarize } from './lib/load.js'
import { type DrillReport, ReportBuilder, runAsScript } from './lib/report.js'
import { startStage } from './lib/stage.js'

/**
 * Redis restart mid-load (`npm run drills -- redis`): the gateway's rate limiter and live flag
 * store on a private Redis (no persistence, as a cache-only instance), mixed load at a fixed
 * rate, Redis stopped for `downMs` and started again empty. Before the outage an operator kills
 * a route (the AI route back to legacy) through the admin API.
 *
 * Invariants: fail-closed routes (checkout, refund, AI) answer 503 `rate-limiter-unavailable`
 * with `Retry-After` only while Redis is down (up to the recovery bound after it returns);
 * fail-open ones (Toss webhooks, proxied functions, admin reads) never answer 5xx; the flag
 * table keeps the operator's change through the outage and the restart; everything recovers
 * within `RECOVERY_BOUND_MS`; the gateway neither crashes nor logs an unhandled rejection.
 */

/** ioredis reconnects with a back-off of at most 2 s; one more refresh of the flags on top. */
export const RECOVERY_BOUND_MS = 5_000

export interface RedisDrillOptions {
  rate?: number
  beforeMs?: number
  downMs?: number
  afterMs?: number
}

const FAIL_CLOSED: ReadonlySet<Kind> = new Set(['checkout', 'refund', 'ai'])
const FAIL_OPEN: ReadonlySet<Kind> = new Set(['webhook', 'proxy', 'admin'])

export async function redisDrill({
  rate = 60,
  beforeMs = 4_000,
  downMs = 5_000,
  afterMs = 8_000,
}: RedisDrillOptions = {}): Promise<DrillReport> {
  const r = new ReportBuilder('redis-restart')
  const stage = await startStage({
    users: 200,
    redis: true,
    env: { FLAGS_REFRESH_MS: '500', RATE_LIMIT_TIMEOUT_MS: '300' },
  })
  try {
    const redis = stage.redis as NonNullable<typeof stage.redis>
    await killRoute(stage.url, stage.adminToken, 'ai-reply-suggest')
    const before = await readFlags(stage.url, stage.adminToken)
    const flagReads: { at: number; ok: boolean; same: boolean; error?: string }[] = []
    let watching = true
    const watch = (async () => {
      while (watching) {
        try {
          const now = await readFlags(stage.url, stage.adminToken)
          flagReads.push({
            at: Date.now(),
            ok: true,
            same: samePercents(now.percents, before.percents),
          })
        } catch (error) {
          flagReads.push({ at: Date.now(), ok: false, same: false, error: String(error) })
        }
        await sleep(200)
      }
    })()

    const load = new MixedLoad(stage, {
      rate,
      mix: { proxy: 3, checkout: 2, refund: 1, ai: 2, webhook: 2, admin: 1 },
    }).start()
    await sleep(beforeMs)
    const downAt = Date.now()
    await redis.stop()
    await sleep(downMs)
    await redis.start()
    const upAt = Date.now()
    await sleep(afterMs)
    const samples = await load.stop()
    watching = false
    await watch
    const after = await readFlags(stage.url, stage.adminToken)

    r.addLoad(summarize(samples))
    const closedDown = samples.filter((s) => FAIL_CLOSED.has(s.kind) && s.status === 503)
    const ended = (s: Sample) => s.wall + s.ms
    const outOfWindow = closedDown.filter(
      (s) => ended(s) < downAt || s.wall > upAt + RECOVERY_BOUND_MS,
    )
    const lastRefusal = closedDown.reduce((m, s) => Math.max(m, ended(s)), 0)
    r.figure('redis down (ms)', upAt - downAt)
    r.figure('fail-closed 503 answers', closedDown.length)
    r.figure(
      'recovery: last fail-closed 503 after Redis returned (ms)',
      closedDown.length ? Math.max(0, lastRefusal - upAt) : 0,
    )
    r.check(
      'fail-closed routes refused while Redis was down',
      closedDown.length > 0,
      `${closedDown.length} answers 503`,
    )
    r.check(
      'every fail-closed 503 is rate-limiter-unavailable with Retry-After',
      closedDown.every((s) => s.code === 'rate-limiter-unavailable' && Number(s.retryAfter) >= 1),
      [...new Set(closedDown.map((s) => `${s.code}/${s.retryAfter}`))].slice(0, 5).join(' '),
    )
    r.check(
      `fail-closed 503 only while down (up to ${RECOVERY_BOUND_MS} ms after)`,
      outOfWindow.length === 0,
      `${outOfWindow.length} outside the window`,
    )
    const openFailures = samples.filter(
      (s) => FAIL_OPEN.has(s.kind) && (s.status >= 500 || s.status === 0),
    )
    r.check(
      'fail-open routes kept serving (no 5xx, none lost)',
      openFailures.length === 0,
      openFailures
        .slice(0, 3)
        .map((s) => `${s.kind} ${s.status} ${s.code ?? s.error ?? ''}`)
        .join('; '),
    )
    const other = samples.filter(
      (s) => FAIL_CLOSED.has(s.kind) && (s.status === 0 || (s.status >= 500 && s.status !== 503)),
    )
    r.check(
      'fail-closed routes: no other 5xx, none lost',
      other.length === 0,
      other
        .slice(0, 3)
        .map((s) => `${s.kind} ${s.status} ${s.code ?? s.error ?? ''}`)
        .join('; '),
    )
    const tail = samples.filter((s) => s.wall > upAt + RECOVERY_BOUND_MS)
    r.check(
      'recovered: every request after the bound answered below 500',
      tail.length > 0 && tail.every((s) => s.status > 0 && s.status < 500),
      `${tail.length} requests after the bound`,
    )
    const changed = flagReads.filter((f) => f.ok && !f.same)
    r.check(
      "flags stayed on the last good table (the operator's kill kept)",
      changed.length === 0 && samePercents(after.percents, before.percents),
      `${flagReads.length} reads; ai-reply-suggest ${before.percents['ai-reply-suggest']} % before, ${after.percents['ai-reply-suggest']} % after`,
    )
    const stderr = stage.gateway.stderr.join('\n')
    r.check(
      'no crash, no unhandled rejection',
      stage.gateway.child.exitCode === null && !/unhandled/i.test(stderr),
      stderr ? stderr.slice(0, 200) : 'stderr empty',
    )
  } finally {
    await stage.close()
  }
  return r.done()
}

if (process.argv[1]?.endsWith('redis.ts')) runAsScript(() => redisDrill())
