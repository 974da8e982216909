import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { DocsScript } from '../docs-page.js'

/** The reference script as `npm run build` copies it beside the bundle (`dist/assets/docs/`). */
const BESIDE_BUNDLE = new URL('./assets/docs/scalar.js', import.meta.url)

/**
 * Node: `/docs/scalar.js` from beside the built bundle (the image carries `dist/` only), or, when
 * running from source (`npm run dev`, tests), from `@scalar/api-reference` in node_modules.
 */
export function docsScriptFromDisk(): DocsScript {
  return async () => {
    try {
      return new Uint8Array(await readFile(BESIDE_BUNDLE))
    } catch {
      const entry = createRequire(import.meta.url).resolve('@scalar/api-reference')
      return new Uint8Array(await readFile(join(dirname(entry), 'browser', 'standalone.js')))
    }
  }
}
