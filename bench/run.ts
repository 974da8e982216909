import { bundleSize } from './bundle.js'
import { decisionCost } from './decision.js'
import { addedLatency } from './latency.js'
import { benchOptions, log, report } from './lib/options.js'
import { ensureBuild } from './lib/servers.js'
import type { Row } from './lib/stats.js'
import { logLineCost } from './log.js'
import { memory } from './memory.js'
import { nativeStack } from './native.js'
import { proxyThroughput } from './proxy.js'
import { startup } from './startup.js'

/**
 * Every figure of BENCHMARKS.md in one run (about 10 minutes; `--quick` for a rough pass):
 * builds dist/node.js, then measures each figure against its own baseline.
 */
const opts = benchOptions()
const figures: [string, () => Promise<Row[]>][] = [
  ['decision', () => decisionCost(opts)],
  ['log', () => logLineCost(opts)],
  ['proxy', () => proxyThroughput(opts)],
  ['latency', () => addedLatency(opts)],
  ['native', () => nativeStack(opts)],
  ['memory', () => memory(opts)],
  ['startup', () => startup(opts)],
  ['bundle', () => bundleSize()],
]
const only = process.argv.slice(2).filter((a) => !a.startsWith('--'))

async function main() {
  log('building dist/node.js')
  await ensureBuild()
  const rows: Row[] = []
  for (const [name, measure] of figures) {
    if (only.length && !only.includes(name)) continue
    const began = Date.now()
    log(`${name}…`)
    try {
      rows.push(...(await measure()))
    } catch (error) {
      log(`${name} failed: ${error instanceof Error ? error.message : String(error)}`)
    }
    log(`${name} took ${((Date.now() - began) / 1000).toFixed(0)} s`)
  }
  report('all', rows)
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error)
    process.exit(1)
  },
)
