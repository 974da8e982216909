import { startUpstream, startGateway, startPlainProxy, startHonoProxy, startNginx } from '../bench/lib/servers.js'
import { cpuSeconds } from '../bench/lib/proc.js'
import { wrk } from '../bench/lib/wrk.js'
const up = await startUpstream()
const which = (process.env.WHICH ?? 'plain,gateway').split(',')
const all: any = { plain: () => startPlainProxy(up), hono: () => startHonoProxy(up), nginx: () => startNginx(up), gateway: () => startGateway(up), info: () => startGateway(up, { logLevel: 'info' }) }
const servers: any[] = []
for (const w of which) servers.push([w, await all[w]()])
for (const [n, s] of servers) await wrk(`${s.functions}/bench-echo`, 32, 2)
for (let i = 0; i < 3; i++) for (const [n, s] of servers) {
  const c0 = cpuSeconds(s.proc.pid); const r = await wrk(`${s.functions}/bench-echo`, 32, 3); const c1 = cpuSeconds(s.proc.pid)
  console.log(n.padEnd(8), 'rps', Math.round(r.rps), 'cpu µs/req', ((c1 - c0) * 1e6 / r.requests).toFixed(1), 'err', r.errors)
}
process.exit(0)
