// Rollout control from a terminal, through the gateway's admin API.
//
//   npm run flags -- get [route]
//   npm run flags -- set <route> <percent> --reason "why" [--version v]
//   npm run flags -- step <route> --reason "why" [--version v] [--force]
//   npm run flags -- gate <route>
//   npm run flags -- shadow <route> <percent> --reason "why"
//   npm run flags -- progress [--days 14]
//   npm run flags -- kill <route> --reason "why"
//   npm run flags -- history [route] [--limit 20]
//   npm run flags -- explain <route> <subject> [--client-id | --key]
//
// Gateway and credentials: --url (or BFF_URL, default http://127.0.0.1:8787) and --token (or
// BFF_ADMIN_TOKEN). --actor (or USER) names you in the audit trail. --json prints raw answers.
// Exit codes: 0 done, 1 refused by the gateway, 2 usage error, 3 gateway unreachable or failing.
import { parseArgs } from 'node:util'

const EXIT = { ok: 0, refused: 1, usage: 2, unavailable: 3 } as const

class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message)
  }
}

const USAGE = `usage: npm run flags -- <get|set|step|kill|gate|shadow|progress|history|explain> [args] [options]
  get [route]                        the effective table (or one route) with stage, breaker, hold
  set <route> <percent> -r <reason>  set a route's native percentage (0-100, steps of 0.01)
  step <route> -r <reason>           next stage: 0 -> 10 -> 50 -> 100, if the ramp gate agrees
                                     (--force with the reason overrides it; both are audited)
  gate <route>                       what the ramp gate says about the next step, with figures
  shadow <route> <percent> -r <why>  shadow share of a read-only route (0 switches it off)
  progress [--days n]                the strangler progress view (removable after n days, 14)
  kill <route> -r <reason>           back to 0 % at once
  history [route] [--limit n]        the audit trail, newest first
  explain <route> <subject>          why a subject gets native or legacy (--client-id, --key)
options: --url <gateway> --token <admin token> --actor <name> --version <v> --json`

interface Problem {
  title?: string
  detail?: string
  code?: string
  errors?: { field: string; message: string }[]
}

function options(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        url: { type: 'string' },
        token: { type: 'string' },
        actor: { type: 'string' },
        reason: { type: 'string', short: 'r' },
        version: { type: 'string' },
        limit: { type: 'string' },
        'client-id': { type: 'boolean' },
        key: { type: 'boolean' },
        json: { type: 'boolean' },
        force: { type: 'boolean' },
        days: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    })
  } catch (error) {
    throw new CliError(`${(error as Error).message}\n${USAGE}`, EXIT.usage)
  }
}

function client(url: string, token: string, actor: string | undefined) {
  return async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response
    try {
      res = await fetch(`${url.replace(/\/+$/, '')}/admin/api${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          'x-bff-change-source': 'cli',
          ...(actor ? { 'x-bff-actor': actor } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(15_000),
      })
    } catch (error) {
      throw new CliError(`cannot reach ${url}: ${(error as Error).message}`, EXIT.unavailable)
    }
    const text = await res.text()
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      parsed = undefined
    }
    if (res.ok) return parsed as T
    const p = (parsed ?? {}) as Problem
    const fields = (p.errors ?? []).map((e) => `\n  ${e.field}: ${e.message}`).join('')
    const message = `refused (${res.status} ${p.code ?? ''}): ${p.detail ?? p.title ?? text.slice(0, 200)}${fields}`
    throw new CliError(message, res.status >= 500 ? EXIT.unavailable : EXIT.refused)
  }
}

/** A plain-text table with aligned columns. */
function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))]
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)))
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd()
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...cells.slice(1).map(line)].join(
    '\n',
  )
}

interface FlagsAnswer {
  source: string
  version: string
  store: {
    store: string
    reachable: boolean
    lastError?: string
    rejected?: { version: number; problems: string[] }
  }
  routes: { id: string; native: number; group?: string; stayLegacy: boolean; hasNative: boolean }[]
}

interface RoutesAnswer {
  routes: {
    id: string
    stage: string
    breaker: string
    hold?: { until: number; reason: string }
    traffic: {
      native: { requests: number; errorRate: number }
      legacy: { requests: number; errorRate: number }
      fallbacks: number
    }
  }[]
}

interface ChangeAnswer {
  routeId: string
  from: number
  to: number
  version: string
  audit: { id: number }
}

interface AuditAnswer {
  entries: {
    id: number
    at: string
    actor: string
    routeId: string
    from: number
    to: number
    reason: string
    source: string
  }[]
}

interface GateAnswer {
  ok: boolean
  from: number
  to?: number
  windowMinutes: number
  refusals: { check: string; message: string }[]
  figures: {
    native: { requests: number; errorRate: number; p95Ms?: number | null }
    legacy: { requests: number; errorRate: number; p95Ms?: number | null }
    fallback: number
    shadow: { match: number; mismatch: number }
  }
}

interface ProgressAnswer {
  removableDays: number
  summary: {
    functions: number
    nativeCapable: number
    ramping: number
    atFull: number
    removable: number
  }
  routes: {
    id: string
    phase: string | number
    state: string
    percent: number
    shadowPercent: number
    share24h: { requests: number; native: number; legacy: number; fallback: number }
    share7d: { requests: number; native: number; legacy: number; fallback: number }
    parity: { at: string; passed: number; failed: number } | null
    shadow24h: { match: number; mismatch: number }
    lastChange: { at: string } | null
    removable: boolean
    removableNote: string
  }[]
}

const pct = (rate: number) => `${(rate * 100).toFixed(1)}%`

async function main(argv: string[]): Promise<number> {
  const { values: o, positionals } = options(argv)
  const [command, ...args] = positionals
  if (o.help || !command) {
    console.log(USAGE)
    return o.help ? EXIT.ok : EXIT.usage
  }
  const url = o.url ?? process.env.BFF_URL ?? 'http://127.0.0.1:8787'
  const token = o.token ?? process.env.BFF_ADMIN_TOKEN
  if (!token) throw new CliError('no admin token: pass --token or set BFF_ADMIN_TOKEN', EXIT.usage)
  const call = client(url, token, o.actor ?? process.env.USER)
  const print = (value: unknown, text: () => string) =>
    console.log(o.json ? JSON.stringify(value, null, 2) : text())
  const need = (value: string | undefined, what: string) => {
    if (!value) throw new CliError(`${command}: missing ${what}\n${USAGE}`, EXIT.usage)
    return value
  }
  const reason = () => need(o.reason, '--reason "why"')
  const version = async () => o.version ?? (await call<FlagsAnswer>('GET', '/flags')).version
  const changed = (c: ChangeAnswer) =>
    `${c.routeId}: ${c.from} % -> ${c.to} % (version ${c.version}, audit #${c.audit.id})`

  switch (command) {
    case 'get': {
      const [flags, status] = await Promise.all([
        call<FlagsAnswer>('GET', '/flags'),
        call<RoutesAnswer>('GET', '/routes'),
      ])
      const byId = new Map(status.routes.map((r) => [r.id, r]))
      const shown = args[0] ? flags.routes.filter((r) => r.id === args[0]) : flags.routes
      if (args[0] && shown.length === 0)
        throw new CliError(`unknown route ${args[0]}`, EXIT.refused)
      print({ ...flags, routes: shown.map((r) => ({ ...r, ...byId.get(r.id) })) }, () => {
        const store = flags.store.reachable
          ? `${flags.store.store} reachable`
          : `${flags.store.store} UNREACHABLE (last good table)`
        const rejected = flags.store.rejected
          ? `\nstored v${flags.store.rejected.version} REFUSED: ${flags.store.rejected.problems.join('; ')}`
          : ''
        const rows = shown.map((r) => {
          const s = byId.get(r.id)
          const held = s?.hold ? `held until ${new Date(s.hold.until).toISOString()}` : ''
          return [
            r.id,
            `${r.native}%`,
            r.stayLegacy ? 'stay-legacy' : r.hasNative ? (s?.stage ?? '') : 'no handler',
            r.group ?? '',
            s?.breaker ?? '',
            s ? `${s.traffic.native.requests}/${pct(s.traffic.native.errorRate)}` : '',
            s ? `${s.traffic.legacy.requests}/${pct(s.traffic.legacy.errorRate)}` : '',
            held,
          ]
        })
        return `version ${flags.version} from ${flags.source}; store ${store}${rejected}\n\n${table(
          [
            'ROUTE',
            'NATIVE',
            'STAGE',
            'GROUP',
            'BREAKER',
            'NATIVE req/err',
            'LEGACY req/err',
            'HOLD',
          ],
          rows,
        )}`
      })
      return EXIT.ok
    }
    case 'set': {
      const route = need(args[0], '<route>')
      const raw = need(args[1], '<percent>')
      const native = Number(raw)
      if (!/^\d+(\.\d+)?$/.test(raw) || Number.isNaN(native))
        throw new CliError(`set: percent must be a number, got ${raw}`, EXIT.usage)
      const result = await call<ChangeAnswer>('PUT', `/flags/${encodeURIComponent(route)}`, {
        native,
        reason: reason(),
        version: await version(),
      })
      print(result, () => changed(result))
      return EXIT.ok
    }
    case 'step':
    case 'kill': {
      const route = need(args[0], '<route>')
      const body = {
        reason: reason(),
        version: command === 'step' ? await version() : o.version,
        ...(command === 'step' && o.force ? { force: true } : {}),
      }
      const result = await call<ChangeAnswer & { forced?: boolean; gate?: GateAnswer }>(
        'POST',
        `/flags/${encodeURIComponent(route)}/${command}`,
        body,
      )
      print(result, () =>
        result.forced
          ? `${changed(result)}
FORCED past the ramp gate: ${(result.gate?.refusals ?? []).map((r) => r.message).join('; ') || 'figures unavailable'}`
          : changed(result),
      )
      return EXIT.ok
    }
    case 'gate': {
      const route = need(args[0], '<route>')
      const g = await call<GateAnswer>('GET', `/gate/${encodeURIComponent(route)}`)
      print(g, () => {
        const f = g.figures
        const p95 = (ms: number | null | undefined) => (ms == null ? '-' : `${ms} ms`)
        const head = `${route}: ${g.from} % -> ${g.to ?? '(last stage)'} %, fleet figures over the last ${g.windowMinutes} min`
        const rows = [
          ['native', f.native.requests, pct(f.native.errorRate), p95(f.native.p95Ms)],
          ['legacy', f.legacy.requests, pct(f.legacy.errorRate), p95(f.legacy.p95Ms)],
        ]
        const shadow = `shadow: ${f.shadow.match} match, ${f.shadow.mismatch} mismatch, ${f.fallback} fallbacks`
        const verdict = g.ok
          ? 'gate: OK, step allowed'
          : `gate: REFUSED\n${g.refusals.map((r) => `  - ${r.message}`).join('\n')}`
        return `${head}\n\n${table(['BACKEND', 'REQUESTS', 'ERRORS', 'P95'], rows)}\n${shadow}\n${verdict}`
      })
      return g.ok ? EXIT.ok : EXIT.refused
    }
    case 'shadow': {
      const route = need(args[0], '<route>')
      const raw = need(args[1], '<percent>')
      const shadow = Number(raw)
      if (!/^\d+(\.\d+)?$/.test(raw) || Number.isNaN(shadow))
        throw new CliError(`shadow: percent must be a number, got ${raw}`, EXIT.usage)
      const result = await call<ChangeAnswer & { shadow: number }>(
        'PUT',
        `/flags/${encodeURIComponent(route)}/shadow`,
        { shadow, reason: reason() },
      )
      print(
        result,
        () =>
          `${route}: shadow ${result.shadow} % (version ${result.version}, audit #${result.audit.id})`,
      )
      return EXIT.ok
    }
    case 'progress': {
      const query = o.days ? `?days=${encodeURIComponent(o.days)}` : ''
      const p = await call<ProgressAnswer>('GET', `/progress${query}`)
      print(p, () => {
        const s = p.summary
        const head = `${s.nativeCapable} of ${s.functions} functions native-capable, ${s.ramping} ramping, ${s.atFull} at 100 %, ${s.removable} removable (after ${p.removableDays} days)`
        const share = (x: ProgressAnswer['routes'][number]['share24h']) =>
          x.requests
            ? `${pct(x.native / x.requests)}/${pct(x.legacy / x.requests)}/${pct(x.fallback / x.requests)}`
            : '-'
        const rows = p.routes.map((r) => [
          r.id,
          String(r.phase),
          r.state,
          `${r.percent}%`,
          share(r.share24h),
          share(r.share7d),
          r.parity ? `${r.parity.failed ? 'FAIL' : 'pass'} ${r.parity.at.slice(0, 10)}` : '-',
          r.shadowPercent
            ? `${r.shadowPercent}% ${r.shadow24h.mismatch}/${r.shadow24h.match + r.shadow24h.mismatch}`
            : '-',
          r.lastChange ? r.lastChange.at.replace('T', ' ').slice(0, 16) : '-',
          r.removable ? 'YES' : r.removableNote,
        ])
        return `${head}\n\n${table(['ROUTE', 'PHASE', 'STATE', 'NATIVE', 'N/L/F 24h', 'N/L/F 7d', 'PARITY', 'SHADOW', 'LAST CHANGE', 'REMOVABLE'], rows)}`
      })
      return EXIT.ok
    }
    case 'history': {
      const query = new URLSearchParams()
      if (args[0]) query.set('route', args[0])
      if (o.limit) query.set('limit', o.limit)
      const result = await call<AuditAnswer>('GET', `/audit?${query}`)
      print(result, () =>
        result.entries.length === 0
          ? 'no changes recorded'
          : table(
              ['#', 'WHEN (UTC)', 'ROUTE', 'CHANGE', 'WHO', 'SOURCE', 'REASON'],
              result.entries.map((e) => [
                e.id,
                e.at.replace('T', ' ').slice(0, 19),
                e.routeId,
                `${e.from}% -> ${e.to}%`,
                e.actor,
                e.source,
                e.reason,
              ]),
            ),
      )
      return EXIT.ok
    }
    case 'explain': {
      const route = need(args[0], '<route>')
      const subject = need(args[1], '<subject>')
      const kind = o['client-id'] ? 'clientId' : o.key ? 'key' : 'subject'
      const query = new URLSearchParams({ route, [kind]: subject })
      const r = await call<Record<string, unknown>>('GET', `/explain?${query}`)
      const fields = [
        'route',
        'subject',
        'subjectSource',
        'scope',
        'bucket',
        'percent',
        'threshold',
        'breaker',
        'backend',
        'reason',
      ]
      const rows = fields.map((k) => [k, String(r[k])])
      print(r, () => `${table(['FIELD', 'VALUE'], rows)}\n\n${String(r.explanation)}`)
      return EXIT.ok
    }
    default:
      throw new CliError(`unknown command ${command}\n${USAGE}`, EXIT.usage)
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    console.error(error instanceof CliError ? error.message : `flags: ${(error as Error).message}`)
    process.exitCode = error instanceof CliError ? error.exitCode : EXIT.unavailable
  },
)
