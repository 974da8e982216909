import { randomUUID } from 'node:crypto'
import http from 'node:http'
import { paymentStatusChanged, type TossFake, webhookHeaders } from '../../../test/fakes/toss.js'

/**
 * The drills' mixed load: proxied functions (the legacy stand-in), native payment and AI routes
 * (the Toss and Anthropic stand-ins), Toss webhooks and admin reads, sent open-loop at a fixed
 * rate over keep-alive connections. Every request carries its own `x-request-id`, so an answer
 * that never came can be looked up in the gateway's access log. Each request ends with a
 * status, or as lost (connection error or no answer within `timeoutMs`).
 */

export type Kind = 'proxy' | 'proxy-slow' | 'checkout' | 'refund' | 'ai' | 'webhook' | 'admin'

/** The kinds that move or record money (their failures must be 503 with Retry-After). */
export const MONEY_KINDS: ReadonlySet<Kind> = new Set(['checkout', 'refund', 'webhook'])

export interface DrillUser {
  id: string
  token: string
  /** A DONE payment of this user, seeded in the database and in the Toss stand-in. */
  paymentKey: string
}

export interface LoadTarget {
  url: string
  users: readonly DrillUser[]
  adminToken: string
  toss: TossFake
}

export interface Sample {
  kind: Kind
  requestId: string
  /** When it was due, in ms since the load started. */
  at: number
  /** Wall-clock time it was due (Date.now()). */
  wall: number
  ms: number
  /** 0: lost. */
  status: number
  error?: string
  retryAfter?: string | undefined
  code?: string | undefined
  backend?: string | undefined
}

export interface LoadOptions {
  rate: number
  mix: Partial<Record<Kind, number>>
  timeoutMs?: number
  maxSockets?: number
}

interface Built {
  method: string
  path: string
  headers: Record<string, string>
  body?: string
}

let seq = 0

function build(kind: Kind, target: LoadTarget, n: number): Built {
  const user = target.users[n % target.users.length] as DrillUser
  const ip = `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`
  const base = { 'x-forwarded-for': ip }
  const json = (token: string) => ({
    ...base,
    authorization: `Bearer ${token}`,
    'content-type': 'application/json',
  })
  switch (kind) {
    case 'proxy':
      return { method: 'GET', path: `/functions/v1/echo?n=${n}`, headers: base }
    case 'proxy-slow':
      return { method: 'GET', path: `/functions/v1/slow?ms=${300 + (n % 5) * 300}`, headers: base }
    case 'checkout':
      return {
        method: 'POST',
        path: '/api/v1/checkout',
        headers: { ...json(user.token), 'idempotency-key': `drill-co-${randomUUID()}` },
        body: JSON.stringify({ items: [{ productId: 'tee', quantity: 1 + (n % 3) }] }),
      }
    case 'refund':
      return {
        method: 'POST',
        path: '/api/v1/refunds',
        headers: { ...json(user.token), 'idempotency-key': `drill-rf-${randomUUID()}` },
        body: JSON.stringify({
          paymentKey: user.paymentKey,
          cancelReason: 'drill',
          cancelAmount: 10,
        }),
      }
    case 'ai':
      return {
        method: 'POST',
        path: '/api/v1/ai/reply-suggest',
        headers: json(user.token),
        body: JSON.stringify({ message: `안녕하세요 ${n}`, count: 2 }),
      }
    case 'webhook': {
      const payment = target.toss.payment(user.paymentKey)
      return {
        method: 'POST',
        path: '/api/v1/webhooks/payment',
        headers: { ...base, ...webhookHeaders({ transmissionId: `drill-wh-${randomUUID()}` }) },
        body: JSON.stringify(payment ? paymentStatusChanged(payment) : {}),
      }
    }
    case 'admin':
      return {
        method: 'GET',
        path: '/admin/api/flags',
        headers: { ...base, authorization: `Bearer ${target.adminToken}` },
      }
  }
}

/** One request over `agent`; resolves with its sample (never rejects). */
export function send(
  target: { url: string },
  b: Built,
  kind: Kind,
  agent: http.Agent,
  timeoutMs: number,
  due: { at: number; wall: number },
): Promise<Sample> {
  const requestId = `drill-${process.pid}-${++seq}`
  const began = performance.now()
  return new Promise((resolve) => {
    let done = false
    const finish = (s: Partial<Sample> & { status: number }) => {
      if (done) return
      done = true
      resolve({ kind, requestId, at: due.at, wall: due.wall, ms: performance.now() - began, ...s })
    }
    const url = new URL(b.path, target.url)
    const req = http.request(
      url,
      {
        method: b.method,
        agent,
        headers: {
          ...b.headers,
          'x-request-id': requestId,
          ...(b.body ? { 'content-length': String(Buffer.byteLength(b.body)) } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          let code: string | undefined
          const type = String(res.headers['content-type'] ?? '')
          if (type.includes('problem+json')) {
            try {
              code = (JSON.parse(Buffer.concat(chunks).toString()) as { code?: string }).code
            } catch {
              code = 'unparsable-problem'
            }
          }
          finish({
            status: res.statusCode ?? 0,
            retryAfter: res.headers['retry-after'] as string | undefined,
            backend: res.headers['x-bff-backend'] as string | undefined,
            code,
          })
        })
        res.on('error', (error) => finish({ status: 0, error: error.message }))
        res.on('aborted', () => finish({ status: 0, error: 'response aborted' }))
      },
    )
    req.setTimeout(timeoutMs, () => {
      finish({ status: 0, error: `no answer within ${timeoutMs} ms` })
      req.destroy()
    })
    req.on('error', (error: NodeJS.ErrnoException) =>
      finish({ status: 0, error: error.code ?? error.message }),
    )
    req.end(b.body)
  })
}

export class MixedLoad {
  readonly samples: Sample[] = []
  private readonly pending = new Set<Promise<Sample>>()
  private timer: ReturnType<typeof setInterval> | undefined
  private readonly agent: http.Agent
  private readonly order: Kind[]
  private sent = 0
  private started = 0

  constructor(
    private readonly target: LoadTarget,
    private readonly options: LoadOptions,
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 64 })
    // A deterministic interleaving of the mix (weights are requests per round).
    this.order = []
    const weights = Object.entries(options.mix) as [Kind, number][]
    const max = Math.max(...weights.map(([, w]) => w))
    for (let round = 0; round < max; round++)
      for (const [kind, w] of weights) if (round < w) this.order.push(kind)
  }

  /** Requests sent so far. */
  get count(): number {
    return this.sent
  }

  get inFlight(): number {
    return this.pending.size
  }

  start(): this {
    this.started = performance.now()
    const wall0 = Date.now()
    const interval = 1000 / this.options.rate
    this.timer = setInterval(() => {
      const elapsed = performance.now() - this.started
      while (this.sent * interval <= elapsed) {
        const n = this.sent++
        const kind = this.order[n % this.order.length] as Kind
        const at = n * interval
        const p = send(
          this.target,
          build(kind, this.target, n),
          kind,
          this.agent,
          this.options.timeoutMs ?? 20_000,
          { at, wall: wall0 + at },
        )
        this.pending.add(p)
        p.then((s) => {
          this.pending.delete(p)
          this.samples.push(s)
        })
      }
    }, 5)
    return this
  }

  /** Stop sending; wait for what is in flight (each request is bounded by its timeout). */
  async stop(): Promise<Sample[]> {
    clearInterval(this.timer)
    await Promise.all([...this.pending])
    this.agent.destroy()
    return this.samples
  }

  /** Stop sending without waiting. */
  halt(): void {
    clearInterval(this.timer)
  }
}

export interface KindSummary {
  sent: number
  byStatus: Record<string, number>
  lost: number
}

export function summarize(samples: readonly Sample[]): Record<string, KindSummary> {
  const out: Record<string, KindSummary> = {}
  for (const s of samples) {
    const k = out[s.kind] ?? { sent: 0, byStatus: {}, lost: 0 }
    out[s.kind] = k
    k.sent++
    if (s.status === 0) k.lost++
    else k.byStatus[s.status] = (k.byStatus[s.status] ?? 0) + 1
  }
  return out
}

/** p-th quantile (0..1) of the latencies, in ms. */
export function quantileMs(samples: readonly Sample[], p: number): number {
  const sorted = samples
    .filter((s) => s.status !== 0)
    .map((s) => s.ms)
    .sort((a, b) => a - b)
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number
}
