import { startUpstream, startGateway, startPlainProxy, startHonoProxy, startNginx } from '/work/main/bench/lib/servers.ts'
import { wrk } from '/work/main/bench/lib/wrk.ts'
const up = await startUpstream()
const servers = [await startPlainProxy(up), await startHonoProxy(up), await startNginx(up), await startGateway(up)]
for (const s of servers) {
  const r = await fetch(`${s.functions}/bench-echo`); console.log(s.name, r.status, [...r.headers].map(h=>h.join(':')).join(' | '), await r.text())
}
for (const c of [32, 256]) for (const s of [up, ...servers]) console.log(c, s.name, await wrk(`${s.functions}/bench-echo`, c, 3))
process.exit(0)
