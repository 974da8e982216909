// The /docs reference's script (`@scalar/api-reference`'s single-file browser build), copied
// where the gateway serves it from itself (no CDN): beside the Node bundle (dist/assets/docs,
// the image carries dist/ only) and into the Workers static assets (workers-assets/docs, see
// wrangler.toml [assets]). Run by `npm run build`, `worker:dev` and `worker:deploy`.
import { copyFile, mkdir } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

export async function copyDocsScript(dir) {
  const entry = createRequire(import.meta.url).resolve('@scalar/api-reference')
  await mkdir(join(dir, 'docs'), { recursive: true })
  await copyFile(join(dirname(entry), 'browser', 'standalone.js'), join(dir, 'docs', 'scalar.js'))
}

if (import.meta.url === `file://${process.argv[1]}`)
  await copyDocsScript(process.argv[2] ?? 'workers-assets')
