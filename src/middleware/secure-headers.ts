import type { MiddlewareHandler } from 'hono'
import type { AppEnv } from '../types.js'
import { type Layer, layerMiddleware } from './frame.js'

export interface SecureHeadersOptions {
  /** Strict-Transport-Security; off in development, where the gateway is served over http. */
  hsts: boolean
}

const HSTS = 'max-age=63072000; includeSubDomains'

/**
 * Security headers for a response the gateway itself produced. Only headers not already set are
 * added, so a page that brings its own policy (the ops dashboard) keeps it. The restrictive CSP
 * goes on JSON only: an API answer is never a document to render.
 */
export function applySecureHeaders(headers: Headers, { hsts }: SecureHeadersOptions): void {
  const setDefault = (name: string, value: string) => {
    if (!headers.has(name)) headers.set(name, value)
  }
  setDefault('x-content-type-options', 'nosniff')
  setDefault('referrer-policy', 'no-referrer')
  setDefault('x-frame-options', 'DENY')
  if (hsts) setDefault('strict-transport-security', HSTS)
  if (/\bjson\b|\+json\b/i.test(headers.get('content-type') ?? '')) {
    setDefault('content-security-policy', "default-src 'none'; frame-ancestors 'none'")
  }
}

/**
 * `applySecureHeaders` on every response except those relayed from a legacy function, which
 * pass through untouched; the gateway's own problems about a legacy call
 * (502, 504) still get them.
 */
export function secureHeadersLayer(options: SecureHeadersOptions): Layer {
  return {
    name: 'secureHeaders',
    after(c) {
      const relayed = c.get('backend') === 'legacy' || c.get('backend') === 'legacy-fallback'
      if (relayed && !c.res.headers.get('content-type')?.startsWith('application/problem+json'))
        return
      try {
        applySecureHeaders(c.res.headers, options)
      } catch {
        c.res = new Response(c.res.body, c.res)
        applySecureHeaders(c.res.headers, options)
      }
    },
  }
}

/** `secureHeadersLayer` as a middleware of its own. */
export function secureHeaders(options: SecureHeadersOptions): MiddlewareHandler<AppEnv> {
  return layerMiddleware(secureHeadersLayer(options))
}
