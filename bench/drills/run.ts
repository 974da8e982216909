import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT } from '../lib/options.js'
import { type DrillReport, formatReport } from './lib/report.js'

/**
 * `npm run drills [-- name …] [--short]`: the reliability drills, one after another, each
 * printing its report (requests sent, answered by status, lost, the invariants, pass or fail).
 * `--short` runs the short forms (the ones `npm test` runs in test/drills/). The reports are
 * also kept in bench/results/drills-<time>.json. Exit code 1 when any drill failed.
 */

type Drill = (short: boolean) => Promise<DrillReport>

const DRILLS: Record<string, Drill> = {
  sigterm: async (short) =>
    (await import('./sigterm.js')).sigtermDrill(short ? { rate: 50, warmMs: 1_000 } : {}),
  redis: async (short) =>
    (await import('./redis.js')).redisDrill(
      short ? { rate: 40, beforeMs: 1_500, downMs: 2_500, afterMs: 6_000 } : {},
    ),
  postgres: async (short) =>
    (await import('./postgres.js')).postgresDrill(
      short ? { rate: 40, beforeMs: 1_500, downMs: 2_500, afterMs: 4_000 } : {},
    ),
  legacy: async (short) =>
    (await import('./legacy.js')).legacyDrill(
      short ? { rate: 30, each: 2, totalTimeoutMs: 3_000 } : {},
    ),
  fuzz: async (short) => (await import('./fuzz.js')).fuzzDrill(short ? { runs: 5 } : {}),
  soak: async (short) =>
    (await import('./soak.js')).soakDrill(
      short ? { seconds: 15, sampleMs: 1_000, users: 100, judgeLatency: false } : {},
    ),
}

async function main(): Promise<number> {
  const args = process.argv.slice(2)
  const short = args.includes('--short')
  const names = args.filter((a) => !a.startsWith('--'))
  const unknown = names.filter((n) => !(n in DRILLS))
  if (unknown.length) {
    console.error(
      `unknown drill(s): ${unknown.join(', ')}; known: ${Object.keys(DRILLS).join(', ')}`,
    )
    return 2
  }
  const reports: DrillReport[] = []
  for (const name of names.length ? names : Object.keys(DRILLS)) {
    process.stdout.write(`-- running ${name}${short ? ' (short)' : ''}\n`)
    let report: DrillReport
    try {
      report = await (DRILLS[name] as Drill)(short)
    } catch (error) {
      report = {
        drill: name,
        seconds: 0,
        load: {},
        figures: {},
        invariants: [{ name: 'the drill ran', ok: false, detail: String(error) }],
        pass: false,
      }
    }
    reports.push(report)
    process.stdout.write(`${formatReport(report)}\n\n`)
  }
  const dir = join(ROOT, 'bench/results')
  mkdirSync(dir, { recursive: true })
  const file = join(dir, `drills-${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
  writeFileSync(file, JSON.stringify(reports, null, 2))
  const failed = reports.filter((r) => !r.pass).map((r) => r.drill)
  process.stdout.write(
    `${failed.length ? `FAILED: ${failed.join(', ')}` : 'all drills passed'} (${file})\n`,
  )
  return failed.length ? 1 : 0
}

main().then((code) => process.exit(code))
