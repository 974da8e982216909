import http from 'node:http'
import { type BenchOptions, benchOptions, isMain, log, report } from './lib/options.js'
import { memoryOf } from './lib/proc.js'
import { type Server, startGateway, startUpstream } from './lib/servers.js'
import { type Row, spread } from './lib/stats.js'

const MiB = 1024 * 1024
const SIZE = 256 * MiB

/** Samples a process's RSS every 10 ms until stopped; returns the highest value seen. */
function sampleRss(pid: number) {
  let peak = memoryOf(pid).rss
  const timer = setInterval(() => {
    peak = Math.max(peak, memoryOf(pid).rss)
  }, 10)
  return () => {
    clearInterval(timer)
    return Math.max(peak, memoryOf(pid).rss)
  }
}

let client = 0
const clientAddress = () => `10.1.${(++client >> 8) & 255}.${client & 255}`

function call(
  server: Server,
  path: string,
  {
    method = 'GET',
    upload = 0,
    agent,
  }: { method?: string; upload?: number; agent?: http.Agent } = {},
): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: server.port,
        path: `/functions/v1${path}`,
        method,
        agent: agent ?? false,
        headers: {
          'x-forwarded-for': clientAddress(),
          ...(upload
            ? { 'content-length': String(upload), 'content-type': 'application/octet-stream' }
            : {}),
        },
      },
      (res) => {
        let bytes = 0
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length
        })
        res.once('end', () => resolve({ status: res.statusCode ?? 0, bytes }))
        res.once('error', reject)
      },
    )
    req.once('error', reject)
    req.setTimeout(120_000, () => req.destroy(new Error('timed out')))
    if (!upload) return void req.end()
    // Stream the upload with backpressure: the client never holds more than one chunk.
    const chunk = Buffer.alloc(256 * 1024, 97)
    let left = upload
    const pump = () => {
      while (left > 0) {
        const n = Math.min(left, chunk.length)
        left -= n
        if (!req.write(n === chunk.length ? chunk : chunk.subarray(0, n)))
          return void req.once('drain', pump)
      }
      req.end()
    }
    pump()
  })
}

/**
 * Memory the gateway holds while proxying: peak RSS (sampled every 10 ms) minus its idle RSS,
 * for a 256 MiB upload, a 256 MiB download, and 1,000 concurrent requests (over 16 functions)
 * to an upstream that takes 2 s to answer.
 */
export async function memory(opts: BenchOptions): Promise<Row[]> {
  const upstream = await startUpstream()
  const gateway = await startGateway(upstream)
  const pid = gateway.proc.pid
  const growth = { upload: [] as number[], download: [] as number[], concurrent: [] as number[] }
  const idle: number[] = []
  let failures = 0
  try {
    for (let i = 0; i < 200; i++) await call(gateway, '/bench-echo', { agent: undefined })
    const runs = opts.quick ? 2 : 3
    for (let run = 0; run < runs; run++) {
      await new Promise((r) => setTimeout(r, 500))
      const base = memoryOf(pid).rss
      idle.push(base)
      let stop = sampleRss(pid)
      const up = await call(gateway, '/bench-upload', { method: 'POST', upload: SIZE })
      growth.upload.push((stop() - base) / MiB)
      if (up.status !== 200) failures++

      stop = sampleRss(pid)
      const down = await call(gateway, `/bench-download?download=${SIZE}`)
      growth.download.push((stop() - base) / MiB)
      if (down.status !== 200 || down.bytes !== SIZE) failures++
      log(
        `run ${run + 1}/${runs}: idle ${(base / MiB).toFixed(0)} MiB, upload +${growth.upload.at(-1)?.toFixed(1)} MiB, download +${growth.download.at(-1)?.toFixed(1)} MiB`,
      )
    }

    const agent = new http.Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY })
    for (let run = 0; run < (opts.quick ? 1 : 3); run++) {
      await new Promise((r) => setTimeout(r, 500))
      const base = memoryOf(pid).rss
      const stop = sampleRss(pid)
      const results = await Promise.allSettled(
        // Spread over 16 functions (63 each): the per-function bulkhead (LEGACY_MAX_PER_FUNCTION)
        // would otherwise answer 503 beyond its limit, which is not what this row measures.
        Array.from({ length: 1_000 }, (_, i) =>
          call(gateway, `/bench-slow-${i % 16}?delay=2000`, { agent }),
        ),
      )
      growth.concurrent.push((stop() - base) / MiB)
      const bad = results.filter((r) => r.status === 'rejected' || r.value.status !== 200).length
      failures += bad
      log(
        `1,000 concurrent, run ${run + 1}: +${growth.concurrent.at(-1)?.toFixed(1)} MiB, ${bad} failed`,
      )
    }
    agent.destroy()
  } finally {
    await Promise.all([gateway, upstream].map((s) => s.proc.stop()))
  }
  const idleMiB = spread(idle).median / MiB
  const row = (figure: string, values: number[], target: string, limit?: number): Row => {
    const value = spread(values)
    return {
      figure,
      baseline: 'idle RSS',
      value,
      unit: 'MiB',
      target,
      met: limit === undefined ? undefined : failures === 0 && value.max <= limit,
      detail: `idle RSS ${idleMiB.toFixed(0)} MiB${failures ? `; ${failures} failed requests` : ''}`,
    }
  }
  return [
    row('peak RSS growth, 256 MiB upload', growth.upload, '≤ 64 MiB', 64),
    row('peak RSS growth, 256 MiB download', growth.download, '≤ 64 MiB', 64),
    row('peak RSS growth, 1,000 concurrent slow requests', growth.concurrent, 'report; no errors'),
  ]
}

if (isMain(import.meta.url)) {
  memory(benchOptions()).then(
    (rows) => {
      report('memory', rows)
      process.exit(0)
    },
    (error) => {
      console.error(error)
      process.exit(1)
    },
  )
}
