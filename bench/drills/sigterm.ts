import { setTimeout as sleep } from 'node:timers/promises'
import type { GatewayProcess } from '../../test/helpers/process.js'
import { MixedLoad, type Sample, summarize } from './lib/load.js'
import { halfSentRequest, newConnection, streamingDownload, streamingUpload } from './lib/probes.js'
import { type DrillReport, ReportBuilder, runAsScript } from './lib/report.js'
import { type Stage, startStage } from './lib/stage.js'

/**
 * SIGTERM under load (`npm run drills -- sigterm`): mixed load at a fixed rate, a streaming
 * upload and a streaming download in flight, then SIGTERM (and, in a second round on a fresh
 * gateway, a second SIGTERM 100 ms later, as an impatient supervisor sends). Invariants: no
 * request the gateway received goes unanswered; `/ready` answers 503 from the signal on; new
 * connections are refused or answered; the process exits 0 within the grace period.
 */

export interface SigtermOptions {
  rate?: number
  /** Load before the signal, ms. */
  warmMs?: number
  graceMs?: number
}

interface AccessLine {
  msg?: string
  message?: string
  requestId?: string
  status?: number
  httpRequest?: { status?: number }
  outcome?: string
}

/** The gateway's JSON log lines (`message` in Cloud Logging's fields, `msg` before). */
function accessLog(g: GatewayProcess): (AccessLine & { text: string })[] {
  return g.stdout.flatMap((line) => {
    try {
      const l = JSON.parse(line) as AccessLine
      return [{ ...l, text: l.message ?? l.msg ?? '' }]
    } catch {
      return []
    }
  })
}

async function round(
  stage: Stage,
  g: GatewayProcess,
  signals: 1 | 2,
  r: ReportBuilder,
  { rate = 100, warmMs = 3_000, graceMs = 8_000 }: SigtermOptions,
) {
  const label = signals === 1 ? 'one SIGTERM' : 'two SIGTERMs'
  const port = Number(new URL(g.url).port)
  const load = new MixedLoad(
    { ...stage, url: g.url },
    {
      rate,
      mix: { proxy: 4, 'proxy-slow': 2, checkout: 2, refund: 1, ai: 1, webhook: 1, admin: 1 },
    },
  ).start()
  await sleep(warmMs)
  const upload = streamingUpload(g.url, { chunks: 50, size: 64 * 1024, gapMs: 50 })
  let streaming: () => void = () => {}
  const downloading = new Promise<void>((resolve) => {
    streaming = resolve
  })
  const download = streamingDownload(g.url, { chunks: 50, gapMs: 50, onFirstChunk: streaming })
  const probes = await Promise.all([0, 1, 2].map(() => halfSentRequest(port, '/ready')))
  // A barrier: the gateway has accepted (and read) the connections opened before this answer.
  // On a busy machine a connection still in the listen backlog when the listener closes is
  // reset by the kernel; that is not a request the gateway could drain.
  await Promise.race([downloading, sleep(5_000)])
  await (await fetch(`${g.url}/health`)).arrayBuffer()
  await sleep(300)

  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    g.child.once('exit', (code, signal) => resolve({ code, signal })),
  )
  const inFlight = load.inFlight
  load.halt()
  const signalAt = Date.now()
  g.child.kill('SIGTERM')
  if (signals === 2) setTimeout(() => g.child.kill('SIGTERM'), 100)
  const readyAnswers = Promise.all(
    [20, 150, 600].map(async (ms, i) => {
      await sleep(ms)
      return probes[i]?.complete()
    }),
  )
  const fresh = Promise.all(
    [50, 300].map(async (ms) => {
      await sleep(ms)
      return newConnection(port, '/health')
    }),
  )
  const exit = await Promise.race([
    exited,
    sleep(graceMs + 5_000).then(() => ({ code: null, signal: 'still running' })),
  ])
  const exitMs = Date.now() - signalAt
  if (exit.signal === 'still running') g.child.kill('SIGKILL')
  const samples = await load.stop()
  const [up, down, ready, conns] = await Promise.all([upload, download, readyAnswers, fresh])

  const log = accessLog(g)
  const received = new Map<string, number>()
  for (const l of log)
    if (l.text === 'request' && l.requestId)
      received.set(l.requestId, l.httpRequest?.status ?? l.status ?? 0)
  const stopped = log.find((l) => l.text === 'stopped')
  const failed = samples.filter((s: Sample) => s.status === 0)
  // A request with no access-log line never reached the app (an idle keep-alive connection
  // closed as the request was written) only if the process drained and stopped on its own.
  const clean = stopped?.outcome === 'drained' && exit.code === 0
  const lost = failed.filter((s) => received.has(s.requestId) || !clean)
  const unread = failed.filter((s) => !received.has(s.requestId) && clean)

  r.addLoad(summarize(samples), signals === 1 ? '1:' : '2:')
  r.figure(`${label}: requests in flight at the signal`, inFlight)
  r.figure(`${label}: exit after the signal (ms)`, exitMs)
  r.figure(`${label}: shutdown outcome`, stopped?.outcome ?? 'no "stopped" line')
  r.figure(
    `${label}: requests closed unread with an idle keep-alive connection`,
    `${unread.length} (${[...new Set(unread.map((s) => s.error))].join(', ') || 'none'})`,
  )
  r.check(
    `${label}: no received request lost`,
    lost.length === 0,
    lost.length
      ? lost
          .slice(0, 3)
          .map((s) => `${s.kind} ${s.error}`)
          .join('; ')
      : `${samples.length - failed.length} answered`,
  )
  r.check(
    `${label}: requests that never reached the gateway failed only as a closed idle connection`,
    unread.every((s) => /ECONNRESET|socket hang up|EPIPE/.test(s.error ?? '')),
    `${unread.length} such requests (HTTP/1.1 keep-alive race; clients retry them)`,
  )
  r.check(
    `${label}: streaming upload in flight completed`,
    up.status === 200 && up.bytes === up.expected,
    `status ${up.status}, ${up.bytes}/${up.expected} bytes${up.error ? `, ${up.error}` : ''}`,
  )
  r.check(
    `${label}: streaming download in flight completed`,
    down.status === 200 && down.bytes === down.expected,
    `status ${down.status}, ${down.bytes}/${down.expected} chunks${down.error ? `, ${down.error}` : ''}`,
  )
  r.check(
    `${label}: /ready answers 503 from the signal on`,
    ready.every((s) => s === 503),
    `at +20/+150/+600 ms: ${ready.join(', ')}`,
  )
  r.check(
    `${label}: new connections refused or answered`,
    conns.every((c) => c === 'refused' || typeof c === 'number'),
    `at +50/+300 ms: ${conns.join(', ')}`,
  )
  r.check(
    `${label}: exits 0 within the grace (${graceMs} ms)`,
    exit.code === 0 && exitMs <= graceMs + 1_000,
    `code ${exit.code}${exit.signal ? ` signal ${exit.signal}` : ''} after ${exitMs} ms`,
  )
}

export async function sigtermDrill(options: SigtermOptions = {}): Promise<DrillReport> {
  const r = new ReportBuilder('sigterm')
  const graceMs = options.graceMs ?? 8_000
  const stage = await startStage({
    users: 100,
    env: { LOG_LEVEL: 'info', SHUTDOWN_GRACE_MS: String(graceMs) },
  })
  try {
    await round(stage, stage.gateway, 1, r, { ...options, graceMs })
    await round(stage, await stage.spawn(), 2, r, { ...options, graceMs })
  } finally {
    await stage.close()
  }
  return r.done()
}

if (process.argv[1]?.endsWith('sigterm.ts')) runAsScript(() => sigtermDrill())
