import { CPU, cpuSeconds, freePort, NODE, start, waitForHttp } from './lib/proc.js'
import { gatewayEnv, startUpstream } from './lib/servers.js'
import { spread } from './lib/stats.js'
import { wrk } from './lib/wrk.js'

/**
 * Two builds of the gateway side by side on the proxy path, each at `warn` and at `info`:
 * CPU per request of each, the ratio after ÷ before within a round, and info − warn per build.
 * Each directory holds a checkout with its `dist/node.js` built (`node scripts/build.mjs`).
 *
 *   npx tsx bench/builds.ts --before=/tmp/old-checkout --after=. [--rounds=6] [--seconds=3]
 *     [--connections=32,256] [--levels=warn,info]
 */

const arg = (name: string, fallback?: string) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback
const before = arg('before')
const after = arg('after', '.')
if (!before || !after) throw new Error('usage: --before=<checkout> --after=<checkout>')
const rounds = Number(arg('rounds', '6'))
const seconds = Number(arg('seconds', '3'))
const connectionList = (arg('connections', '32') as string).split(',').map(Number)
const levels = (arg('levels', 'warn,info') as string).split(',')

const upstream = await startUpstream()
async function gateway(name: string, dir: string, level: string) {
  const port = await freePort()
  const proc = start(NODE, [`${dir}/dist/node.js`], {
    cwd: dir,
    cpu: CPU?.server,
    env: gatewayEnv(upstream, port, level),
  })
  await waitForHttp(`http://127.0.0.1:${port}/health`, 60_000, proc)
  return { name, proc, url: `http://127.0.0.1:${port}/functions/v1/bench-echo` }
}

const servers = []
for (const level of levels) {
  servers.push(await gateway(`before ${level}`, before, level))
  servers.push(await gateway(`after ${level}`, after, level))
}
const script = new URL('./lib/client-ips.lua', import.meta.url).pathname
const cpu = new Map<string, number[]>()
try {
  for (const s of servers) await wrk(s.url, 32, 2, script)
  for (let r = 0; r < rounds; r++) {
    for (const connections of connectionList) {
      for (const s of r % 2 ? [...servers].reverse() : servers) {
        const c0 = cpuSeconds(s.proc.pid)
        const res = await wrk(s.url, connections, seconds, script)
        const c1 = cpuSeconds(s.proc.pid)
        const key = `${s.name} c=${connections}`
        cpu.set(key, [...(cpu.get(key) ?? []), ((c1 - c0) * 1e6) / Math.max(1, res.requests)])
      }
    }
    console.log(
      `round ${r + 1}/${rounds}: ${[...cpu].map(([n, xs]) => `${n} ${xs.at(-1)?.toFixed(0)} µs/req`).join(', ')}`,
    )
  }
} finally {
  await Promise.all([...servers.map((s) => s.proc.stop()), upstream.proc.stop()])
}
const of = (name: string) => cpu.get(name) ?? []
const pairwise = (a: string, b: string, f: (x: number, y: number) => number) =>
  spread(of(a).map((x, i) => f(x, of(b)[i] as number)))
const show = (label: string, s: ReturnType<typeof spread>) =>
  console.log(
    `${label}: ${s.median.toFixed(2)} [${s.min.toFixed(2)}–${s.max.toFixed(2)}] (n=${s.n})`,
  )
for (const name of cpu.keys()) show(`${name}, CPU µs/req`, spread(of(name)))
for (const c of connectionList) {
  for (const level of levels) {
    show(
      `after ÷ before, ${level}, c=${c}`,
      pairwise(`after ${level} c=${c}`, `before ${level} c=${c}`, (x, y) => x / y),
    )
  }
  if (levels.includes('warn') && levels.includes('info')) {
    for (const build of ['before', 'after']) {
      show(
        `info − warn ${build}, c=${c}, µs`,
        pairwise(`${build} info c=${c}`, `${build} warn c=${c}`, (x, y) => x - y),
      )
    }
  }
}
process.exit(0)
