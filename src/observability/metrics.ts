/**
 * A small Prometheus registry (text exposition format 0.0.4) that runs on Node and Workers.
 * Label values are escaped; series are keyed by their label values in label-name order.
 */

type Labels = Record<string, string>

const escapeLabel = (v: string) =>
  v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')

function seriesKey(labelNames: readonly string[], labels: Labels): string {
  let key = ''
  for (const name of labelNames) key += `${labels[name] ?? ''}\u0000`
  return key
}

function renderLabels(labelNames: readonly string[], labels: Labels, extra = ''): string {
  const parts = labelNames.map((n) => `${n}="${escapeLabel(labels[n] ?? '')}"`)
  if (extra) parts.push(extra)
  return parts.length ? `{${parts.join(',')}}` : ''
}

export class Counter {
  private readonly series = new Map<string, { labels: Labels; value: number }>()
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {}

  inc(labels: Labels = {}, by = 1): void {
    const key = seriesKey(this.labelNames, labels)
    const s = this.series.get(key)
    if (s) s.value += by
    else this.series.set(key, { labels, value: by })
  }

  get(labels: Labels = {}): number {
    return this.series.get(seriesKey(this.labelNames, labels))?.value ?? 0
  }

  render(): string {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} counter\n`
    for (const s of this.series.values()) {
      out += `${this.name}${renderLabels(this.labelNames, s.labels)} ${s.value}\n`
    }
    return out
  }
}

export class Gauge {
  private readonly series = new Map<string, { labels: Labels; value: number }>()
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {}

  set(labels: Labels, value: number): void {
    this.series.set(seriesKey(this.labelNames, labels), { labels, value })
  }

  render(): string {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} gauge\n`
    for (const s of this.series.values()) {
      out += `${this.name}${renderLabels(this.labelNames, s.labels)} ${s.value}\n`
    }
    return out
  }
}

/** Seconds; covers 1 ms to 30 s, the span between a cached decision and a slow legacy call. */
export const LATENCY_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
] as const

interface HistogramSeries {
  labels: Labels
  counts: number[]
  sum: number
  count: number
}

export class Histogram {
  private readonly series = new Map<string, HistogramSeries>()
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    readonly buckets: readonly number[] = LATENCY_BUCKETS,
  ) {}

  observe(labels: Labels, value: number): void {
    const key = seriesKey(this.labelNames, labels)
    let s = this.series.get(key)
    if (!s) {
      s = { labels, counts: new Array(this.buckets.length).fill(0), sum: 0, count: 0 }
      this.series.set(key, s)
    }
    for (let i = 0; i < this.buckets.length; i++) {
      if (value <= (this.buckets[i] as number)) {
        s.counts[i] = (s.counts[i] as number) + 1
        break
      }
    }
    s.sum += value
    s.count += 1
  }

  /** Snapshot of one series (cumulative bucket counts), for the dashboard and tests. */
  snapshot(labels: Labels): { buckets: number[]; count: number; sum: number } | undefined {
    const s = this.series.get(seriesKey(this.labelNames, labels))
    if (!s) return undefined
    let acc = 0
    return { buckets: s.counts.map((c) => (acc += c)), count: s.count, sum: s.sum }
  }

  render(): string {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} histogram\n`
    for (const s of this.series.values()) {
      let acc = 0
      for (let i = 0; i < this.buckets.length; i++) {
        acc += s.counts[i] as number
        out += `${this.name}_bucket${renderLabels(this.labelNames, s.labels, `le="${this.buckets[i]}"`)} ${acc}\n`
      }
      out += `${this.name}_bucket${renderLabels(this.labelNames, s.labels, 'le="+Inf"')} ${s.count}\n`
      out += `${this.name}_sum${renderLabels(this.labelNames, s.labels)} ${s.sum}\n`
      out += `${this.name}_count${renderLabels(this.labelNames, s.labels)} ${s.count}\n`
    }
    return out
  }
}

type Metric = Counter | Gauge | Histogram

export class Metrics {
  private readonly metrics = new Map<string, Metric>()

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.register(name, () => new Counter(name, help, labelNames)) as Counter
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    return this.register(name, () => new Gauge(name, help, labelNames)) as Gauge
  }

  histogram(
    name: string,
    help: string,
    labelNames: readonly string[] = [],
    buckets?: readonly number[],
  ): Histogram {
    return this.register(name, () => new Histogram(name, help, labelNames, buckets)) as Histogram
  }

  render(): string {
    let out = ''
    for (const m of this.metrics.values()) out += m.render()
    return out
  }

  private register(name: string, make: () => Metric): Metric {
    let m = this.metrics.get(name)
    if (!m) {
      m = make()
      this.metrics.set(name, m)
    }
    return m
  }
}

/** The gateway's own series, created once per app. */
export function gatewayMetrics(metrics: Metrics) {
  return {
    requests: metrics.counter(
      'bff_requests_total',
      'Routed requests by route, backend and status class',
      ['route', 'backend', 'status'],
    ),
    errors: metrics.counter('bff_request_errors_total', 'Routed requests answered 5xx', [
      'route',
      'backend',
    ]),
    duration: metrics.histogram('bff_request_duration_seconds', 'Routed request latency', [
      'route',
      'backend',
    ]),
    upstream: metrics.histogram(
      'bff_upstream_duration_seconds',
      'Time waiting on the legacy function',
      ['route'],
    ),
    fallbacks: metrics.counter('bff_fallbacks_total', 'Native failures replayed to legacy', [
      'route',
      'reason',
    ]),
    fallbackRefused: metrics.counter(
      'bff_fallback_refused_total',
      'Native failures not replayed (side effect, not replay-safe or body too large)',
      ['route', 'reason'],
    ),
    decisions: metrics.counter('bff_decisions_total', 'Routing decisions by reason', [
      'route',
      'backend',
      'reason',
    ]),
    unsticky: metrics.counter(
      'bff_unsticky_decisions_total',
      'Decisions with a random subject (no JWT, client id or route key)',
      ['route'],
    ),
    rateLimit: metrics.counter(
      'bff_rate_limit_total',
      'Rate-limit outcomes (allowed, limited, failed-open, failed-closed)',
      ['route', 'outcome'],
    ),
    breakerState: metrics.gauge(
      'bff_native_breaker_open',
      'Native breaker open (1) or closed (0)',
      ['route'],
    ),
  }
}

export type GatewayMetrics = ReturnType<typeof gatewayMetrics>
