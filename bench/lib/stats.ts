/** Medians with their spread, and the table every figure prints. */

export interface Spread {
  median: number
  min: number
  max: number
  n: number
}

export function spread(values: readonly number[]): Spread {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b)
  const n = sorted.length
  if (n === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, n: 0 }
  const mid = Math.floor(n / 2)
  const median =
    n % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
  return { median, min: sorted[0] as number, max: sorted[n - 1] as number, n }
}

/** `q` in 0..1 of an ascending array (nearest rank). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[rank] as number
}

export interface Row {
  /** What is measured. */
  figure: string
  /** What it is compared with (empty for absolute figures). */
  baseline: string
  /** The figure: a ratio or an absolute value, with its spread over the runs. */
  value: Spread
  unit: string
  target: string
  /** Whether the target is met; undefined when the row only reports. */
  met?: boolean | undefined
  /** Absolute medians behind a ratio, for the reader. */
  detail?: string
}

const fmt = (v: number, unit: string) => {
  if (!Number.isFinite(v)) return 'n/a'
  if (unit === '×') return v.toFixed(2)
  if (unit === 'ms') return v.toFixed(2)
  if (unit === 'µs' || unit === 'ns') return v < 10 ? v.toFixed(2) : v.toFixed(0)
  if (unit === 'MiB' || unit === 'KiB') return v.toFixed(1)
  return v.toFixed(v < 10 ? 2 : 0)
}

export function formatSpread(s: Spread, unit: string): string {
  const u = unit === '×' ? '×' : ` ${unit}`
  return `${fmt(s.median, unit)}${u} [${fmt(s.min, unit)}–${fmt(s.max, unit)}]`
}

/** A Markdown table (it reads fine in a terminal too). */
export function table(rows: readonly Row[]): string {
  const header = ['figure', 'against', 'median [min–max]', 'target', 'met', 'absolute medians']
  const lines = rows.map((r) => [
    r.figure,
    r.baseline || '—',
    `${formatSpread(r.value, r.unit)} (n=${r.value.n})`,
    r.target || 'report',
    r.met === undefined ? '—' : r.met ? 'yes' : 'NO',
    r.detail ?? '',
  ])
  const out = [header, header.map(() => '---'), ...lines].map((cells) => `| ${cells.join(' | ')} |`)
  return out.join('\n')
}
