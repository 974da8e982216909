import { mkdtempSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BenchOptions, benchOptions, isMain, log, ROOT, report } from './lib/options.js'
import { CPU, freePort, NODE, start } from './lib/proc.js'
import { databaseEnv, ensureBuild, GATEWAY_BUILD } from './lib/servers.js'
import { type Row, spread } from './lib/stats.js'

/** One GET /health; resolves with the status, or 0 when nothing answers yet. */
function probe(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/health', agent: false }, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.once('error', () => resolve(0))
    req.setTimeout(1_000, () => req.destroy())
    req.end()
  })
}

/**
 * Time from spawning `node dist/node.js` to its first 200 on /health, polled every 2 ms
 * (bounded to 60 s). `env` selects what the process builds at start (database, flag store).
 */
async function timeToHealthy(env: Record<string, string>): Promise<number> {
  const port = await freePort()
  const began = process.hrtime.bigint()
  const proc = start(NODE, [GATEWAY_BUILD], {
    cwd: ROOT,
    cpu: CPU?.server,
    env: { ...env, PORT: String(port) },
  })
  try {
    const deadline = Date.now() + 60_000
    while (Date.now() < deadline) {
      if (proc.child.exitCode !== null)
        throw new Error(`gateway exited: ${proc.stderr().slice(0, 1_000)}`)
      if ((await probe(port)) === 200) return Number(process.hrtime.bigint() - began) / 1e6
      await new Promise((r) => setTimeout(r, 2))
    }
    throw new Error('no 200 on /health within 60 s')
  } finally {
    await proc.stop()
  }
}

const TELEMETRY = 'embedded PGlite, Sentry and OTLP export configured'

export async function startup(opts: BenchOptions): Promise<Row[]> {
  await ensureBuild()
  const dir = mkdtempSync(join(tmpdir(), 'bench-start-'))
  const base = {
    LOG_LEVEL: 'warn',
    APP_ENV: 'development',
    LEGACY_FUNCTIONS_URL: 'http://127.0.0.1:9/functions/v1',
  }
  const database = await databaseEnv()
  const variants: [string, Record<string, string>][] = [
    ...(database.DATABASE_URL
      ? ([['DATABASE_URL (Postgres)', { ...base, ...database }]] as [
          string,
          Record<string, string>,
        ][])
      : []),
    ['no database configured (embedded PGlite)', { ...base, PGLITE_DIR: join(dir, 'pglite') }],
    // Both SDKs load from node_modules at start when configured (the endpoints need not answer).
    [
      TELEMETRY,
      {
        ...base,
        PGLITE_DIR: join(dir, 'pglite-telemetry'),
        SENTRY_DSN: 'http://0123456789abcdef@127.0.0.1:9/1',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9',
      },
    ],
  ]
  const times = new Map<string, number[]>()
  const runs = Math.max(5, opts.runs)
  for (let i = 0; i < runs; i++) {
    for (const [name, env] of variants) {
      const ms = await timeToHealthy(env)
      times.set(name, [...(times.get(name) ?? []), ms])
    }
    log(
      `start ${i + 1}/${runs}: ${variants.map(([n]) => `${n} ${times.get(n)?.at(-1)?.toFixed(0)} ms`).join(', ')}`,
    )
  }
  // Node's own start-up on this machine, for scale.
  const bare: number[] = []
  for (let i = 0; i < runs; i++) {
    const began = process.hrtime.bigint()
    const proc = start(NODE, ['-e', '0'], { cpu: CPU?.server })
    await proc.exited
    bare.push(Number(process.hrtime.bigint() - began) / 1e6)
  }
  return variants.map(([name]) => {
    const value = spread(times.get(name) ?? [])
    return {
      figure: `start to first 200 on /health, ${name}`,
      baseline: '',
      value,
      unit: 'ms',
      // The target is the gateway's own start; the SDKs' load is a cost of turning them on.
      target: name === TELEMETRY ? 'report' : '≤ 300 ms',
      met: name === TELEMETRY ? undefined : value.median <= 300,
      detail: `node -e 0 takes ${spread(bare).median.toFixed(0)} ms`,
    }
  })
}

if (isMain(import.meta.url)) {
  startup(benchOptions()).then(
    (rows) => {
      report('startup', rows)
      process.exit(0)
    },
    (error) => {
      console.error(error)
      process.exit(1)
    },
  )
}
