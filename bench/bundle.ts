import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { benchOptions, isMain, log, ROOT, report } from './lib/options.js'
import { run } from './lib/proc.js'
import type { Row } from './lib/stats.js'

const KiB = 1024

/**
 * Modules of the AI and PDF features: Anthropic's SDK, the AI routes and guard with the
 * libraries only the guard uses (linkify-it, uc.micro, tlds, libphonenumber-js, entities), PDF
 * and fonts.
 */
const AI_OR_PDF =
  /anthropic|routes\/ai|src\/ai\/|ai-reply|ai-poll|linkify-it|uc\.micro|node_modules\/tlds|libphonenumber-js|node_modules\/entities|pdf|fontkit|fontsource|pretendard|payout-statement/i

/**
 * The Workers bundle as wrangler builds it (`wrangler deploy --dry-run`, no network), gzipped
 * as Cloudflare counts it; and the share of the AI and PDF features, attributed module by
 * module from the `// <path>` markers esbuild writes before each module's code.
 */
export async function bundleSize(): Promise<Row[]> {
  const outdir = mkdtempSync(join(tmpdir(), 'bench-worker-'))
  await run('npx', ['wrangler', 'deploy', '--dry-run', '--outdir', outdir], {
    cwd: ROOT,
    timeoutMs: 180_000,
  })
  const code = readFileSync(join(outdir, 'worker.js'), 'utf8')
  const total = gzipSync(code, { level: 9 }).length
  const segments = code.split(/^(?=\/\/ (?:node_modules|src|routes|legacy-proxy)\/)/m)
  const core = segments.filter((s) => !AI_OR_PDF.test(s.slice(0, s.indexOf('\n')))).join('')
  const coreGzip = gzipSync(core, { level: 9 }).length
  const modules = segments.length - 1
  const excluded = segments.filter((s) => AI_OR_PDF.test(s.slice(0, s.indexOf('\n')))).length
  log(
    `worker.js ${(code.length / KiB).toFixed(0)} KiB raw, ${modules} modules, ${excluded} of them AI/PDF`,
  )
  const one = (v: number) => ({ median: v, min: v, max: v, n: 1 })
  return [
    {
      figure: 'Workers bundle, gzip (everything)',
      baseline: '',
      value: one(total / KiB),
      unit: 'KiB',
      target: '',
      detail: `${(code.length / KiB).toFixed(0)} KiB before compression`,
    },
    {
      figure: 'Workers bundle, gzip (core without AI and PDF)',
      baseline: '',
      value: one(coreGzip / KiB),
      unit: 'KiB',
      target: '≤ 1024 KiB',
      met: coreGzip <= 1024 * KiB,
      detail: `${excluded} AI/PDF modules of ${modules} left out`,
    },
  ]
}

if (isMain(import.meta.url)) {
  benchOptions()
  bundleSize().then(
    (rows) => {
      report('bundle', rows)
      process.exit(0)
    },
    (error) => {
      console.error(error)
      process.exit(1)
    },
  )
}
