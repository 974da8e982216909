import { startUpstream, GATEWAY_BUILD } from '/work/main/bench/lib/servers.ts'
import { start, freePort, waitForHttp, NODE, CPU } from '/work/main/bench/lib/proc.ts'
import { wrk } from '/work/main/bench/lib/wrk.ts'
import { readdirSync, readFileSync, rmSync, mkdirSync } from 'node:fs'
const up = await startUpstream()
const port = await freePort()
rmSync('/tmp/prof', { recursive: true, force: true }); mkdirSync('/tmp/prof')
const extra = (process.env.ARGS ?? '').split(' ').filter(Boolean)
const proc = start(NODE, ['--cpu-prof', '--cpu-prof-dir=/tmp/prof', ...extra, GATEWAY_BUILD], { cwd: '/work/main', cpu: CPU?.server, env: { PORT: String(port), LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn', LEGACY_FUNCTIONS_URL: `http://127.0.0.1:${up.port}/functions/v1` } })
await waitForHttp(`http://127.0.0.1:${port}/health`)
console.log(await wrk(`http://127.0.0.1:${port}/functions/v1/bench-echo`, 32, 5))
await proc.stop()
const file = readdirSync('/tmp/prof')[0]!
const prof = JSON.parse(readFileSync(`/tmp/prof/${file}`, 'utf8'))
const self = new Map<string, number>()
const byId = new Map<number, any>(prof.nodes.map((n: any) => [n.id, n]))
const counts = new Map<number, number>()
for (const s of prof.samples) counts.set(s, (counts.get(s) ?? 0) + 1)
let total = 0
for (const [id, n] of counts) { const node = byId.get(id); const cf = node.callFrame; const key = `${cf.functionName || '(anon)'} ${cf.url.replace(/.*node_modules\//, '').replace('file:///work/main/', '')}:${cf.lineNumber}`; self.set(key, (self.get(key) ?? 0) + n); total += n }
const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, 45)
for (const [k, v] of top) console.log((100 * v / total).toFixed(1).padStart(5), k)
process.exit(0)
