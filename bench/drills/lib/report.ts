import type { KindSummary } from './load.js'

/** What every drill prints: the load it sent and how it ended, the invariants, pass or fail. */

export interface Invariant {
  name: string
  ok: boolean
  detail: string
}

export interface DrillReport {
  drill: string
  seconds: number
  load: Record<string, KindSummary>
  figures: Record<string, number | string>
  invariants: Invariant[]
  pass: boolean
}

export class ReportBuilder {
  private readonly began = Date.now()
  readonly invariants: Invariant[] = []
  readonly figures: Record<string, number | string> = {}
  load: Record<string, KindSummary> = {}

  constructor(readonly drill: string) {}

  check(name: string, ok: boolean, detail = ''): boolean {
    this.invariants.push({ name, ok, detail })
    return ok
  }

  figure(name: string, value: number | string): void {
    this.figures[name] = typeof value === 'number' ? Math.round(value * 100) / 100 : value
  }

  /** Merge another load summary (several phases of one drill). */
  addLoad(load: Record<string, KindSummary>, prefix = ''): void {
    for (const [kind, s] of Object.entries(load)) this.load[prefix + kind] = s
  }

  done(): DrillReport {
    return {
      drill: this.drill,
      seconds: Math.round((Date.now() - this.began) / 100) / 10,
      load: this.load,
      figures: this.figures,
      invariants: this.invariants,
      pass: this.invariants.length > 0 && this.invariants.every((i) => i.ok),
    }
  }
}

export function formatReport(r: DrillReport): string {
  const lines = [`== drill: ${r.drill} (${r.seconds} s) ${r.pass ? 'PASS' : 'FAIL'}`]
  const kinds = Object.entries(r.load)
  if (kinds.length) {
    lines.push('  requests   sent   lost   answered by status')
    let sent = 0
    let lost = 0
    for (const [kind, s] of kinds) {
      sent += s.sent
      lost += s.lost
      const statuses = Object.entries(s.byStatus)
        .map(([k, v]) => `${k}:${v}`)
        .join(' ')
      lines.push(
        `  ${kind.padEnd(10)} ${String(s.sent).padStart(5)}  ${String(s.lost).padStart(5)}   ${statuses}`,
      )
    }
    lines.push(`  ${'total'.padEnd(10)} ${String(sent).padStart(5)}  ${String(lost).padStart(5)}`)
  }
  for (const [k, v] of Object.entries(r.figures)) lines.push(`  ${k}: ${v}`)
  for (const i of r.invariants)
    lines.push(`  [${i.ok ? 'ok' : 'FAIL'}] ${i.name}${i.detail ? ` — ${i.detail}` : ''}`)
  return lines.join('\n')
}

/** Run a drill as a script: print its report, exit 1 when it failed. */
export async function runAsScript(drill: () => Promise<DrillReport>): Promise<void> {
  try {
    const report = await drill()
    process.stdout.write(`${formatReport(report)}\n`)
    process.exit(report.pass ? 0 : 1)
  } catch (error) {
    console.error(error)
    process.exit(1)
  }
}
