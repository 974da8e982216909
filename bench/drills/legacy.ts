import http from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { memoryOf } from '../lib/proc.js'
import { MixedLoad, summarize } from './lib/load.js'
import { checkNothingReadLost } from './lib/losses.js'
import { type DrillReport, ReportBuilder, runAsScript } from './lib/report.js'
import { fdCount, socketCount, startStage } from './lib/stage.js'

/**
 * Legacy pathologies (`npm run drills -- legacy`): under a steady mixed load, legacy functions
 * that hang, reset the connection, trickle their body at 1 byte/s or send 100 MiB, and a client
 * that trickles its request body at 1 byte/s. Invariants: each ends within its timeout
 * (`LEGACY_HEADERS_TIMEOUT_MS`, `LEGACY_TOTAL_TIMEOUT_MS`, `BODY_TIMEOUT_MS`) plus a margin;
 * the gateway's descriptors come back to where they were; the other routes are unaffected.
 */

const HEADERS_TIMEOUT_MS = 2_000
const BODY_TIMEOUT_MS = 3_000
const MARGIN_MS = 1_500

export interface LegacyDrillOptions {
  rate?: number
  /** Pathological requests of each kind. */
  each?: number
  hugeMiB?: number
  /** LEGACY_TOTAL_TIMEOUT_MS: where the 1 byte/s body is cut. */
  totalTimeoutMs?: number
}

interface Outcome {
  status: number
  bytes: number
  ms: number
  complete: boolean
  error?: string
}

function get(url: string): Promise<Outcome> {
  const began = performance.now()
  return new Promise((resolve) => {
    let bytes = 0
    let status = 0
    const done = (complete: boolean, error?: string) =>
      resolve({
        status,
        bytes,
        ms: performance.now() - began,
        complete,
        ...(error ? { error } : {}),
      })
    const req = http.get(url, { agent: false }, (res) => {
      status = res.statusCode ?? 0
      res.on('data', (d: Buffer) => {
        bytes += d.length
      })
      res.on('end', () => done(true))
      res.on('close', () => {
        if (!res.complete) done(false, 'cut')
      })
    })
    req.setTimeout(60_000, () => req.destroy(new Error('client gave up after 60 s')))
    req.on('error', (e: NodeJS.ErrnoException) => done(false, e.code ?? e.message))
  })
}

/** A POST whose declared 100-byte body arrives at 1 byte/s. */
function tricklingClient(url: string): Promise<Outcome> {
  const began = performance.now()
  return new Promise((resolve) => {
    let status = 0
    let settled = false
    const done = (complete: boolean, error?: string) => {
      if (settled) return
      settled = true
      clearInterval(timer)
      resolve({
        status,
        bytes: 0,
        ms: performance.now() - began,
        complete,
        ...(error ? { error } : {}),
      })
    }
    const req = http.request(`${url}/functions/v1/echo`, {
      method: 'POST',
      agent: false,
      headers: { 'content-type': 'text/plain', 'content-length': '100' },
    })
    req.on('response', (res) => {
      status = res.statusCode ?? 0
      res.resume()
      res.on('end', () => done(true))
      res.on('close', () => done(res.complete))
    })
    req.on('error', (e: NodeJS.ErrnoException) => done(false, e.code ?? e.message))
    const timer = setInterval(() => req.write('x'), 1_000)
    setTimeout(() => {
      req.destroy()
      done(false, 'client gave up after 30 s')
    }, 30_000)
  })
}

export async function legacyDrill({
  rate = 40,
  each = 4,
  hugeMiB = 100,
  totalTimeoutMs: TOTAL_TIMEOUT_MS = 8_000,
}: LegacyDrillOptions = {}): Promise<DrillReport> {
  const r = new ReportBuilder('legacy-pathologies')
  const stage = await startStage({
    users: 100,
    env: {
      LEGACY_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
      LEGACY_TOTAL_TIMEOUT_MS: String(TOTAL_TIMEOUT_MS),
      BODY_TIMEOUT_MS: String(BODY_TIMEOUT_MS),
      LEGACY_SOCKET_IDLE_MS: '1000',
      // One access line per request: a failed request can be looked up (received or not).
      LOG_LEVEL: 'info',
    },
  })
  try {
    const pid = stage.gateway.child.pid as number
    const dbPort = [Number(new URL(stage.databaseUrl).port || 5432)]
    // Warm every path once (database pool, Toss, Anthropic, legacy sockets), then let it settle.
    const warm = new MixedLoad(stage, {
      rate: 20,
      mix: { proxy: 1, checkout: 1, ai: 1, admin: 1, webhook: 1 },
    }).start()
    await sleep(1_000)
    await warm.stop()
    await sleep(2_000)
    const fdsBefore = fdCount(pid, dbPort)
    const socketsBefore = socketCount(pid)
    const rssBefore = memoryOf(pid).rss

    const load = new MixedLoad(stage, {
      rate,
      mix: { proxy: 3, checkout: 1, ai: 1, admin: 1, webhook: 1 },
    }).start()
    await sleep(1_000)
    let rssPeak = rssBefore
    const sampler = setInterval(() => {
      rssPeak = Math.max(rssPeak, memoryOf(pid).rss)
    }, 20)
    const fn = (name: string) => `${stage.url}/functions/v1/${name}`
    const times = <T>(n: number, f: () => Promise<T>) => Promise.all(Array.from({ length: n }, f))
    const [hang, reset, trickle, huge, client] = await Promise.all([
      times(each, () => get(fn('hang'))),
      times(each, () => get(fn('reset'))),
      times(Math.max(1, each / 2), () => get(`${fn('trickle')}?bytes=600&gap=1000`)),
      times(Math.max(1, each / 2), () => get(`${fn('huge')}?mb=${hugeMiB}`)),
      times(Math.max(1, each / 2), () => tricklingClient(stage.url)),
    ])
    const fdsDuring = fdCount(pid, dbPort)
    clearInterval(sampler)
    await sleep(1_000)
    const samples = await load.stop()
    r.addLoad(summarize(samples))

    const fmt = (o: Outcome[]) =>
      [...new Set(o.map((x) => `${x.status || x.error}${x.complete ? '' : ' (cut)'}`))].join(', ') +
      `; slowest ${Math.round(Math.max(...o.map((x) => x.ms)))} ms`
    r.check(
      `hang: 504 within the headers timeout (${HEADERS_TIMEOUT_MS} ms) + ${MARGIN_MS} ms`,
      hang.every((o) => o.status === 504 && o.ms <= HEADERS_TIMEOUT_MS + MARGIN_MS),
      fmt(hang),
    )
    r.check(
      'connection reset: 502 at once',
      reset.every((o) => o.status === 502 && o.ms <= MARGIN_MS),
      fmt(reset),
    )
    r.check(
      `1 byte/s body: cut at the total timeout (${TOTAL_TIMEOUT_MS} ms) + ${MARGIN_MS} ms`,
      trickle.every((o) => o.status === 200 && !o.complete && o.ms <= TOTAL_TIMEOUT_MS + MARGIN_MS),
      fmt(trickle),
    )
    r.check(
      `${hugeMiB} MiB body: streamed whole within the total timeout`,
      huge.every((o) => o.status === 200 && o.complete && o.bytes === hugeMiB * 1024 * 1024),
      fmt(huge),
    )
    r.figure(
      `${hugeMiB} MiB bodies: gateway RSS peak above the start (MiB)`,
      (rssPeak - rssBefore) / 1048576,
    )
    r.check(
      `client sending 1 byte/s: 408 within BODY_TIMEOUT_MS (${BODY_TIMEOUT_MS} ms) + ${MARGIN_MS} ms`,
      client.every((o) => o.ms <= BODY_TIMEOUT_MS + MARGIN_MS && o.status === 408),
      fmt(client),
    )
    // The background load shares this process with the 100 MiB bodies it streams, so it may
    // be too busy to see an idle connection close before reusing it.
    checkNothingReadLost(r, samples, stage.gateway.stdout, {
      unread: 'background requests failed before the gateway read them (idle keep-alive race)',
      lost: 'other routes unaffected (no 5xx, nothing the gateway read lost)',
    })
    // Idle upstream sockets close after LEGACY_SOCKET_IDLE_MS; database connections after the
    // pool's idle timeout (10 s). Wait for the count to settle (bounded).
    let fdsAfter = fdCount(pid, dbPort)
    const deadline = Date.now() + 15_000
    while (fdsAfter > fdsBefore + 2 && Date.now() < deadline) {
      await sleep(250)
      fdsAfter = fdCount(pid, dbPort)
    }
    r.figure(
      'descriptors (database connections left out) before / at the end / after',
      `${fdsBefore} / ${fdsDuring} / ${fdsAfter}`,
    )
    r.figure('sockets before / after', `${socketsBefore} / ${socketCount(pid)}`)
    r.check(
      'no descriptor leak (after ≤ before + 2)',
      fdsAfter <= fdsBefore + 2,
      `${fdsBefore} → ${fdsAfter}`,
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

if (process.argv[1]?.endsWith('legacy.ts')) runAsScript(() => legacyDrill())
