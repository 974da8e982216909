import { mkdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Row } from './stats.js'
import { table } from './stats.js'

/** Runs and their length: `--quick` trades precision for time. */
export interface BenchOptions {
  quick: boolean
  runs: number
  seconds: number
}

export function benchOptions(argv = process.argv.slice(2)): BenchOptions {
  const quick = argv.includes('--quick')
  const runsArg = argv.find((a) => a.startsWith('--runs='))
  const secondsArg = argv.find((a) => a.startsWith('--seconds='))
  return {
    quick,
    runs: runsArg ? Number(runsArg.slice(7)) : quick ? 3 : 5,
    seconds: secondsArg ? Number(secondsArg.slice(10)) : quick ? 2 : 4,
  }
}

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))
export const RESULTS_DIR = `${ROOT}bench/results`

/** Print a figure's rows and keep them as JSON (bench/results/<name>.json) for the summary. */
export function report(name: string, rows: Row[]): void {
  console.log(`\n${table(rows)}\n`)
  mkdirSync(RESULTS_DIR, { recursive: true })
  writeFileSync(`${RESULTS_DIR}/${name}.json`, `${JSON.stringify(rows, null, 2)}\n`)
}

export function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`)
}

/** Whether this module is the script node was asked to run. */
export function isMain(url: string): boolean {
  return process.argv[1] !== undefined && fileURLToPath(url) === process.argv[1]
}
