import { ROUTE_IDS, ROUTES } from '../routes/index.js'
import { createRouteResolver } from '../src/middleware/resolve-route.js'
import { decideBackend, type Subject } from '../src/rollout/decide.js'
import { compileFlags } from '../src/rollout/flags.js'
import { type BenchOptions, benchOptions, isMain, log, report } from './lib/options.js'
import { type Row, spread } from './lib/stats.js'

/**
 * The routing decision in-process: resolve the path to a route, look up its flag, bucket the
 * subject and decide — what step 3 and 6 of the request path cost per request. Paths and
 * subjects rotate over a realistic mix so nothing is constant-folded away.
 */
export async function decisionCost(opts: BenchOptions): Promise<Row[]> {
  const resolver = createRouteResolver(ROUTES, 64 * 1024 * 1024)
  const native = new Set([
    'payment-checkout',
    'payment-webhook',
    'refund-process',
    'ai-reply-suggest',
  ])
  const table = compileFlags(
    {
      routes: {
        'payment-checkout': { native: 10, group: 'payments' },
        'payment-webhook': { native: 50, group: 'payments' },
        'refund-process': { native: 0, group: 'payments' },
        'ai-reply-suggest': { native: 100 },
      },
    },
    { knownRoutes: ROUTE_IDS, nativeRoutes: native },
    'bench',
    'bench',
  )
  const paths = [
    '/functions/v1/payment-checkout',
    '/api/v1/checkout',
    '/functions/v1/payment-webhook',
    '/api/v1/ai/reply-suggest',
    '/functions/v1/refund-process',
    '/api/v1/settlement/export/2026-05',
    '/functions/v1/some-unknown-function/sub/path',
    '/functions/v1/payment-confirm',
  ]
  const subjects: Subject[] = Array.from({ length: 64 }, (_, i) => ({
    value: `6f1c2a4e-${String(i).padStart(4, '0')}-4d6b-9b1e-2c3d4e5f6a7b`,
    source: 'jwt',
  }))
  let sink = 0
  const decideMany = (n: number) => {
    for (let i = 0; i < n; i++) {
      const match = resolver.resolve(paths[i & 7] as string)
      if (!match) continue
      const { def } = match
      const decision = decideBackend({
        routeId: def.id,
        stayLegacy: def.stayLegacy,
        hasNative: native.has(def.id),
        table,
        subject: subjects[i & 63] as Subject,
        override: undefined,
        heldOnLegacy: undefined,
      })
      sink += decision.bucket ?? 0
    }
  }
  const iterations = opts.quick ? 200_000 : 1_000_000
  decideMany(iterations) // warm-up: let the JIT settle
  const perDecision: number[] = []
  for (let run = 0; run < Math.max(5, opts.runs); run++) {
    const began = process.hrtime.bigint()
    decideMany(iterations)
    perDecision.push(Number(process.hrtime.bigint() - began) / iterations)
    log(`run ${run + 1}: ${perDecision.at(-1)?.toFixed(0)} ns/decision`)
  }
  if (sink === 0) log('no bucket computed: the benchmark is wrong')
  const value = spread(perDecision.map((ns) => ns / 1000))
  return [
    {
      figure: 'routing decision (resolve + flags + bucket)',
      baseline: '',
      value,
      unit: 'µs',
      target: '≤ 1 µs',
      met: value.median <= 1,
      detail: `${iterations.toLocaleString('en')} decisions per run, in-process`,
    },
  ]
}

if (isMain(import.meta.url)) {
  decisionCost(benchOptions()).then(
    (rows) => {
      report('decision', rows)
      process.exit(0)
    },
    (error) => {
      console.error(error)
      process.exit(1)
    },
  )
}
