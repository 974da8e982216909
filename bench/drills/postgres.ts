import { setTimeout as sleep } from 'node:timers/promises'
import { checkLedger } from './lib/ledger.js'
import { MixedLoad, MONEY_KINDS, summarize } from './lib/load.js'
import { type DrillReport, ReportBuilder, runAsScript } from './lib/report.js'
import { startStage } from './lib/stage.js'

/**
 * PostgreSQL restart mid-load (`npm run drills -- postgres`): the gateway on a private
 * PostgreSQL cluster (initdb in a temporary folder), mixed load at a fixed rate, then the
 * server stopped (`pg_ctl stop -m fast`, which ends every session as a restart does) for
 * `downMs` and started again.
 *
 * Invariants: money routes (checkout, refund, Toss webhook) answer 503 with `Retry-After` and
 * never 500; nothing is half-applied (the database's payments and refunds against the Toss
 * stand-in's ledger; every checkout answered 201 has its order); the pool recovers within
 * `RECOVERY_BOUND_MS` of the server accepting connections again.
 */

/** The pool opens connections on demand (connect timeout 5 s): one failed attempt plus one. */
export const RECOVERY_BOUND_MS = 10_000

export interface PostgresDrillOptions {
  rate?: number
  beforeMs?: number
  downMs?: number
  afterMs?: number
}

/** The breaker sends a route to legacy for 30 s after 5 native failures, then probes. */
export const BREAKER_COOLDOWN_MS = 30_000

async function readyDatabase(url: string): Promise<boolean | undefined> {
  try {
    const res = await fetch(`${url}/ready`, { signal: AbortSignal.timeout(3_000) })
    const body = (await res.json()) as { checks?: Record<string, string> }
    return body.checks?.database === 'up'
  } catch {
    return undefined
  }
}

export async function postgresDrill({
  rate = 60,
  beforeMs = 4_000,
  downMs = 5_000,
  afterMs = 45_000,
}: PostgresDrillOptions = {}): Promise<DrillReport> {
  const r = new ReportBuilder('postgres-restart')
  // Auto-rollback would hold the money routes on legacy for its cool-down (300 s) after the
  // outage; it is off here so that the native path's own recovery is what the drill sees.
  const stage = await startStage({ users: 200, database: 'private', rollback: false })
  try {
    const pg = stage.pg as NonNullable<typeof stage.pg>
    const ordersBefore = Number(
      (await stage.sql<{ n: string }>('select count(*) as n from public.orders'))[0]?.n,
    )
    const ready: { at: number; up: boolean | undefined }[] = []
    let polling = true
    const poll = (async () => {
      while (polling) {
        ready.push({ at: Date.now(), up: await readyDatabase(stage.url) })
        await sleep(200)
      }
    })()
    const load = new MixedLoad(stage, {
      rate,
      mix: { checkout: 3, refund: 2, webhook: 2, ai: 1, proxy: 2, admin: 1 },
    }).start()
    await sleep(beforeMs)
    const downAt = Date.now()
    await pg.stop()
    await sleep(downMs)
    await pg.start()
    const upAt = Date.now()
    await sleep(afterMs)
    const samples = await load.stop()
    polling = false
    await poll
    r.addLoad(summarize(samples))
    r.figure('postgres down (ms)', upAt - downAt)

    const native = samples.filter((s) => s.backend === 'native' || s.backend === undefined)
    const money = native.filter((s) => MONEY_KINDS.has(s.kind))
    const diverted = samples.filter(
      (s) => MONEY_KINDS.has(s.kind) && s.backend?.startsWith('legacy') && s.wall >= downAt,
    )
    r.figure('money requests sent to legacy by the breaker or a replay', diverted.length)
    const fiveHundreds = samples.filter((s) => s.status === 500)
    r.check(
      'no 500 on any route',
      fiveHundreds.length === 0,
      fiveHundreds
        .slice(0, 3)
        .map((s) => `${s.kind} ${s.code}`)
        .join('; ') || 'none',
    )
    const moneyRefused = money.filter((s) => s.status >= 500)
    r.check(
      "money routes' own refusals are 503 + Retry-After",
      moneyRefused.every((s) => s.status === 503 && Number(s.retryAfter) >= 1),
      [...new Set(moneyRefused.map((s) => `${s.kind}:${s.status}/${s.code}/${s.retryAfter}`))]
        .slice(0, 6)
        .join(' ') || 'none refused',
    )
    r.check(
      'money routes refused (503) while the database was down',
      moneyRefused.length > 0,
      `${moneyRefused.length} answers 503`,
    )
    const lost = samples.filter((s) => s.status === 0)
    r.check(
      'no request lost',
      lost.length === 0,
      lost
        .slice(0, 3)
        .map((s) => `${s.kind} ${s.error}`)
        .join('; '),
    )
    const backUp = ready.find((p) => p.at > upAt && p.up === true)
    r.figure(
      'pool: /ready database up again after the server returned (ms)',
      backUp ? backUp.at - upAt : -1,
    )
    r.check(
      `pool recovered within ${RECOVERY_BOUND_MS} ms (/ready database check)`,
      backUp !== undefined && backUp.at - upAt <= RECOVERY_BOUND_MS,
      backUp ? `${backUp.at - upAt} ms` : 'never',
    )
    if (afterMs > BREAKER_COOLDOWN_MS + RECOVERY_BOUND_MS) {
      const resumed = money.find((s) => s.wall > upAt && s.status > 0 && s.status < 500)
      r.figure(
        'native money answers resumed after the server returned (ms)',
        resumed ? resumed.wall - upAt : -1,
      )
      r.check(
        `native money routes resumed within the breaker cool-down (${BREAKER_COOLDOWN_MS} ms) + ${RECOVERY_BOUND_MS} ms`,
        resumed !== undefined &&
          resumed.wall - upAt <= BREAKER_COOLDOWN_MS + RECOVERY_BOUND_MS &&
          samples.every(
            (s) => s.wall < upAt + BREAKER_COOLDOWN_MS + RECOVERY_BOUND_MS || s.status < 500,
          ),
        resumed ? `first at +${Math.round(resumed.wall - upAt)} ms` : 'never',
      )
    }

    const ledger = await checkLedger(stage, stage.toss)
    for (const [k, v] of Object.entries(ledger.figures)) r.figure(k, v)
    for (const i of ledger.invariants) r.check(i.name, i.ok, i.detail)
    const ordersAfter = Number(
      (await stage.sql<{ n: string }>('select count(*) as n from public.orders'))[0]?.n,
    )
    const created = ordersAfter - ordersBefore
    const checkouts = samples.filter((s) => s.kind === 'checkout' && s.backend === 'native')
    const answered201 = checkouts.filter((s) => s.status === 201).length
    const unanswered = checkouts.filter((s) => s.status >= 500 || s.status === 0).length
    r.figure('orders created', created)
    r.check(
      'every checkout answered 201 has its order; no more orders than requests that may have committed',
      created >= answered201 && created <= answered201 + unanswered,
      `${created} orders, ${answered201} answered 201, ${unanswered} refused or lost`,
    )
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

if (process.argv[1]?.endsWith('postgres.ts')) runAsScript(() => postgresDrill())
