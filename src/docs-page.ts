import { Scalar } from '@scalar/hono-api-reference'
import { Hono } from 'hono'
import type { AppEnv } from './types.js'

/** Where the reference's script is served from: the gateway itself, never a CDN. */
export const DOCS_SCRIPT_PATH = '/docs/scalar.js'

/**
 * The reference's script (`@scalar/api-reference`'s single-file browser build): bytes, or
 * undefined when this runtime serves it some other way (Workers: the static assets of
 * `wrangler.toml`, answered before the Worker runs).
 */
export type DocsScript = () => Promise<Uint8Array | undefined>

/**
 * The page's policy: scripts only from the gateway or carrying this response's nonce (no
 * `'unsafe-eval'`, no inline script), nothing from another origin (the reference fetches
 * `/openapi.json` and nothing else; its default web fonts are off). Styles allow
 * `'unsafe-inline'`: the reference injects `<style>` elements and `style` attributes at run time
 * without the nonce, and a nonce in `style-src` would switch `'unsafe-inline'` off.
 */
export function docsCsp(nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'self' 'nonce-${nonce}'`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ')
}

function newNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  return btoa(String.fromCharCode(...bytes))
}

/**
 * `/docs`: the interactive API reference (Scalar) over `/openapi.json`, and its script at
 * `/docs/scalar.js` when `script` supplies it.
 */
export function docsRoutes({ script }: { script?: DocsScript | undefined }): Hono<AppEnv> {
  const docs = new Hono<AppEnv>()
  docs.get('/docs', async (c, next) => {
    const nonce = newNonce()
    c.header('content-security-policy', docsCsp(nonce))
    c.header('cache-control', 'no-store')
    const page = Scalar({
      url: '/openapi.json',
      cdn: DOCS_SCRIPT_PATH,
      nonce,
      pageTitle: 'BFF gateway API',
      withDefaultFonts: false,
      telemetry: false,
      hideClientButton: false,
    })
    return page(c as unknown as Parameters<typeof page>[0], next)
  })
  let cached: Promise<Uint8Array | undefined> | undefined
  docs.get(DOCS_SCRIPT_PATH, async (c) => {
    cached ??= script ? script() : Promise.resolve(undefined)
    const bytes = await cached.catch(() => undefined)
    if (!bytes) {
      cached = undefined
      return c.notFound()
    }
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': 'public, max-age=3600',
    })
  })
  return docs
}
