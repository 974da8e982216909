import { type BenchOptions, benchOptions, isMain, log, ROOT, report } from './lib/options.js'
import { cpuSeconds } from './lib/proc.js'
import {
  hasNginx,
  type Server,
  startFastifyProxy,
  startGateway,
  startHonoProxy,
  startNginx,
  startPlainProxy,
  startUndiciProxy,
  startUpstream,
  workerPids,
} from './lib/servers.js'
import { type Row, spread } from './lib/stats.js'
import { wrk } from './lib/wrk.js'

/**
 * Proxied requests per second for a small JSON GET, at 32 and 256 connections: the gateway
 * (access log at `warn` and at `info`) against a plain node:http streaming proxy, Hono's
 * proxy() over Node's fetch, `@fastify/http-proxy` with its pino logger at `info`, and nginx
 * (one worker), all in front of the same upstream stand-in. Every proxy runs pinned to one
 * CPU; wrk and the upstream share the other. The proxies are measured in turn within each
 * round, so a neighbour's load hits all of them alike; a ratio is taken within a round.
 */
export async function proxyThroughput(opts: BenchOptions): Promise<Row[]> {
  const upstream = await startUpstream()
  // `--focus`: only what the access-log rows need (plain proxy, fastify, gateway warn/info).
  const focus = process.argv.includes('--focus')
  const servers: Server[] = [
    await startPlainProxy(upstream),
    ...(focus ? [] : [await startHonoProxy(upstream)]),
    await startFastifyProxy(upstream),
    ...(focus ? [await startUndiciProxy(upstream)] : []),
    ...(hasNginx && !focus ? [await startNginx(upstream)] : []),
    await startGateway(upstream),
    await startGateway(upstream, { logLevel: 'info', name: 'gateway (log info)' }),
  ]
  const path = '/bench-echo'
  const script = `${ROOT}bench/lib/client-ips.lua`
  const rps = new Map<string, number[]>()
  // CPU time per request of the server's own process(es): the Cloud Run bill, and a figure a
  // busy neighbour disturbs less than throughput.
  const cpuPerRequest = new Map<string, number[]>()
  const key = (name: string, c: number) => `${name}@${c}`
  let errors = 0
  try {
    // JIT warm-up, not recorded.
    for (const s of servers) await wrk(`${s.functions}${path}`, 32, opts.quick ? 1 : 2, script)
    for (let round = 0; round < opts.runs; round++) {
      for (const connections of [32, 256]) {
        for (const s of round % 2 ? [...servers].reverse() : servers) {
          const pids = workerPids(s)
          const cpu0 = pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0)
          const r = await wrk(`${s.functions}${path}`, connections, opts.seconds, script)
          const cpu1 = pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0)
          const cpuList = cpuPerRequest.get(key(s.name, connections)) ?? []
          cpuList.push(((cpu1 - cpu0) * 1e6) / Math.max(1, r.requests))
          cpuPerRequest.set(key(s.name, connections), cpuList)
          // A server that stopped answering shows as no requests at all, not as errors.
          errors += r.errors + (r.requests === 0 ? 1 : 0)
          if (r.errors || r.requests === 0)
            log(`${s.name} c=${connections}: ${r.errors} errors, ${r.requests} requests`)
          const list = rps.get(key(s.name, connections)) ?? []
          list.push(r.rps)
          rps.set(key(s.name, connections), list)
        }
        log(
          `round ${round + 1}/${opts.runs} c=${connections}: ${servers.map((s) => `${s.name} ${Math.round(rps.get(key(s.name, connections))?.at(-1) ?? 0)}`).join(', ')}`,
        )
      }
    }
  } finally {
    await Promise.all([...servers, upstream].map((s) => s.proc.stop()))
  }

  const ratio = (a: string, b: string, c: number) => {
    const xs = rps.get(key(a, c)) ?? []
    const ys = rps.get(key(b, c)) ?? []
    return spread(xs.map((x, i) => x / (ys[i] as number)))
  }
  const med = (name: string, c: number) => Math.round(spread(rps.get(key(name, c)) ?? []).median)
  const cpu = (name: string, c: number) =>
    Math.round(spread(cpuPerRequest.get(key(name, c)) ?? []).median)
  // Baseline CPU per request ÷ the gateway's, within a round: the throughput ratio a proxy
  // with a core to itself would reach, and much less disturbed by a busy neighbour.
  const efficiency = (a: string, b: string, c: number) => {
    const xs = cpuPerRequest.get(key(a, c)) ?? []
    const ys = cpuPerRequest.get(key(b, c)) ?? []
    return spread(xs.map((x, i) => (ys[i] as number) / x))
  }
  const rows: Row[] = []
  for (const c of [32, 256]) {
    for (const [baseline, label, target, limit] of [
      ['node:http proxy', 'plain node:http proxy', '≥ 0.9×', 0.9],
      ['Hono proxy()', 'Hono proxy() over fetch', '≥ 3×', 3],
    ] as const) {
      if (focus && baseline === 'Hono proxy()') continue
      const value = efficiency('gateway', baseline, c)
      rows.push({
        figure: `proxy CPU efficiency, c=${c}`,
        baseline: label,
        value,
        unit: '×',
        target,
        met: errors === 0 && value.median >= limit,
        detail: `CPU/req gateway ${cpu('gateway', c)} µs, ${baseline} ${cpu(baseline, c)} µs`,
      })
    }
  }
  for (const c of [32, 256]) {
    const g = med('gateway', c)
    const plain = ratio('gateway', 'node:http proxy', c)
    rows.push({
      figure: `proxy req/s, c=${c}`,
      baseline: 'plain node:http proxy',
      value: plain,
      unit: '×',
      target: '≥ 0.9×',
      met: errors === 0 && plain.median >= 0.9,
      detail: `gateway ${g}/s, node:http ${med('node:http proxy', c)}/s; CPU/req ${cpu('gateway', c)} vs ${cpu('node:http proxy', c)} µs`,
    })
    const hono = ratio('gateway', 'Hono proxy()', c)
    if (!focus)
      rows.push({
        figure: `proxy req/s, c=${c}`,
        baseline: 'Hono proxy() over fetch',
        value: hono,
        unit: '×',
        target: '≥ 3×',
        met: errors === 0 && hono.median >= 3,
        detail: `gateway ${g}/s, Hono proxy() ${med('Hono proxy()', c)}/s; CPU/req ${cpu('Hono proxy()', c)} µs`,
      })
    if (hasNginx && !focus) {
      rows.push({
        figure: `proxy req/s, c=${c}`,
        baseline: 'nginx, 1 worker',
        value: ratio('gateway', 'nginx', c),
        unit: '×',
        target: '',
        detail: `gateway ${g}/s, nginx ${med('nginx', c)}/s; CPU/req ${cpu('nginx', c)} µs`,
      })
    }
    const info = 'gateway (log info)'
    const infoPlain = ratio(info, 'node:http proxy', c)
    rows.push({
      figure: `proxy req/s, c=${c}, access log at info`,
      baseline: 'plain node:http proxy',
      value: infoPlain,
      unit: '×',
      target: '≥ 0.7×',
      met: errors === 0 && infoPlain.median >= 0.7,
      detail: `gateway (info) ${med(info, c)}/s; CPU/req ${cpu(info, c)} µs`,
    })
    const infoFastify = ratio(info, 'fastify-proxy', c)
    rows.push({
      figure: `proxy req/s, c=${c}, access log at info`,
      baseline: '@fastify/http-proxy, pino at info',
      value: infoFastify,
      unit: '×',
      target: '≥ 1.1×',
      met: errors === 0 && infoFastify.median >= 1.1,
      detail: `fastify-proxy ${med('fastify-proxy', c)}/s; CPU/req ${cpu('fastify-proxy', c)} µs`,
    })
    const infoFastifyCpu = efficiency(info, 'fastify-proxy', c)
    rows.push({
      figure: `proxy CPU efficiency, c=${c}, access log at info`,
      baseline: '@fastify/http-proxy, pino at info',
      value: infoFastifyCpu,
      unit: '×',
      target: '(≥ 1.1×)',
      met: errors === 0 && infoFastifyCpu.median >= 1.1,
      detail: `CPU/req gateway (info) ${cpu(info, c)} µs, fastify-proxy ${cpu('fastify-proxy', c)} µs`,
    })
    // The access line's whole cost in the server (building and writing it): CPU per request
    // at info minus at warn, within a round.
    const infoCpu = cpuPerRequest.get(key(info, c)) ?? []
    const warnCpu = cpuPerRequest.get(key('gateway', c)) ?? []
    const logCost = spread(infoCpu.map((x, i) => x - (warnCpu[i] as number)))
    rows.push({
      figure: `access-log line, c=${c}, CPU/req info − warn`,
      baseline: 'gateway at warn',
      value: logCost,
      unit: 'µs',
      target: '≤ 10 µs',
      met: errors === 0 && logCost.median <= 10,
      detail: `CPU/req ${cpu(info, c)} vs ${cpu('gateway', c)} µs`,
    })
  }
  if (focus) {
    // A reference point, no target: the same minimal proxy with undici upstream.
    for (const c of [32, 256]) {
      rows.push({
        figure: `proxy req/s, c=${c}, undici proxy (reference)`,
        baseline: 'plain node:http proxy',
        value: ratio('undici proxy', 'node:http proxy', c),
        unit: '×',
        target: '',
        detail: `undici proxy ${med('undici proxy', c)}/s; CPU/req ${cpu('undici proxy', c)} µs`,
      })
    }
  }
  if (errors) log(`${errors} failed requests: the ratios above are not valid`)
  return rows
}

if (isMain(import.meta.url)) {
  proxyThroughput(benchOptions()).then(
    (rows) => {
      report('proxy', rows)
      process.exit(0)
    },
    (error) => {
      console.error(error)
      process.exit(1)
    },
  )
}
