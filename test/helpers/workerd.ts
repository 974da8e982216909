import { build } from 'esbuild'
import { Miniflare } from 'miniflare'

/** Compatibility date within what the installed workerd accepts. */
export const COMPATIBILITY_DATE = '2026-04-01'

/** Bundle a worker entry the way wrangler does (ESM, workerd conditions) and load it in workerd. */
export async function startWorkerd(
  entry: string,
  bindings: Record<string, string>,
): Promise<Miniflare> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['module', 'main'],
    // Provided by workerd under nodejs_compat, as wrangler leaves them.
    external: ['node:*'],
    // wrangler's nodejs_compat resolves bare built-in names (papaparse asks for `stream`) the same way.
    alias: { stream: 'node:stream' },
    logLevel: 'silent',
  })
  const script = result.outputFiles[0]?.text ?? ''
  const mf = new Miniflare({
    modules: true,
    script,
    compatibilityDate: COMPATIBILITY_DATE,
    compatibilityFlags: ['nodejs_compat'],
    bindings,
  })
  await mf.ready
  return mf
}
