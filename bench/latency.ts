import type { FixedRateResult } from './lib/fixed-rate.js'
import { type BenchOptions, benchOptions, isMain, log, ROOT, report } from './lib/options.js'
import { CPU, NODE, run, TSX } from './lib/proc.js'
import { type Server, startGateway, startUpstream } from './lib/servers.js'
import { type Row, spread } from './lib/stats.js'

const RATE = 2_000
const CONNECTIONS = 32

/** One open-loop run in its own process (pinned with the upstream), so it does not share the event loop. */
async function fixedRateRun(server: Server, seconds: number): Promise<FixedRateResult> {
  const args = JSON.stringify({
    port: server.port,
    path: '/functions/v1/bench-echo',
    rate: RATE,
    seconds,
    connections: CONNECTIONS,
  })
  const out = await run(NODE, [...TSX, `${ROOT}bench/lib/fixed-rate.ts`, args], {
    cwd: ROOT,
    cpu: CPU?.load,
    timeoutMs: (seconds + 30) * 1000,
  })
  return JSON.parse(out.trim().split('\n').at(-1) as string) as FixedRateResult
}

/**
 * Latency the gateway adds at a fixed 2,000 requests/s: the same open-loop load sent straight
 * to the upstream stand-in and through the gateway, alternately; the added latency of a round
 * is the gateway's percentile minus the direct one.
 */
export async function addedLatency(opts: BenchOptions): Promise<Row[]> {
  const upstream = await startUpstream()
  const gateway = await startGateway(upstream)
  const added = { p50: [] as number[], p99: [] as number[] }
  const direct = { p50: [] as number[], p99: [] as number[] }
  let errors = 0
  try {
    await fixedRateRun(gateway, 1)
    for (let round = 0; round < opts.runs; round++) {
      const d = await fixedRateRun(upstream, opts.seconds)
      const g = await fixedRateRun(gateway, opts.seconds)
      errors += d.errors + g.errors
      direct.p50.push(d.p50)
      direct.p99.push(d.p99)
      added.p50.push(g.p50 - d.p50)
      added.p99.push(g.p99 - d.p99)
      log(
        `round ${round + 1}/${opts.runs}: direct p50 ${d.p50.toFixed(3)} p99 ${d.p99.toFixed(3)}; gateway p50 ${g.p50.toFixed(3)} p99 ${g.p99.toFixed(3)} ms; errors ${d.errors + g.errors}`,
      )
    }
  } finally {
    await Promise.all([gateway, upstream].map((s) => s.proc.stop()))
  }
  if (errors) log(`${errors} failed or unanswered requests`)
  return [
    {
      figure: `added latency p50 at ${RATE} req/s`,
      baseline: 'direct to the upstream',
      value: spread(added.p50),
      unit: 'ms',
      target: '≤ 0.5 ms',
      met: errors === 0 && spread(added.p50).median <= 0.5,
      detail: `direct p50 ${spread(direct.p50).median.toFixed(3)} ms`,
    },
    {
      figure: `added latency p99 at ${RATE} req/s`,
      baseline: 'direct to the upstream',
      value: spread(added.p99),
      unit: 'ms',
      target: '≤ 2 ms',
      met: errors === 0 && spread(added.p99).median <= 2,
      detail: `direct p99 ${spread(direct.p99).median.toFixed(3)} ms`,
    },
  ]
}

if (isMain(import.meta.url)) {
  addedLatency(benchOptions()).then(
    (rows) => {
      report('latency', rows)
      process.exit(0)
    },
    (error) => {
      console.error(error)
      process.exit(1)
    },
  )
}
