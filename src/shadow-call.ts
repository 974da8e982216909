import { Hono } from 'hono'
import { upstreamRequestHeaders } from '../legacy-proxy/headers.js'
import { legacyTarget } from '../legacy-proxy/target.js'
import { GatewayError, problemResponse } from './errors.js'
import { headerEntries, headerList, legacyTrace, readHeader } from './platform/request-headers.js'
import { gatewayProblem } from './problems.js'
import type { ObservedResponse } from './rollout/compare.js'
import { readCapped } from './rollout/shadow.js'
import type { AppContext, AppEnv, NativeHandler } from './types.js'

/**
 * The second call of a shadowed request, made after the client was answered: the same request
 * to the backend that did not serve it. Everything it needs is copied from the request first,
 * so nothing here touches the client's context.
 */
export interface ShadowRequest {
  url: string
  method: string
  headers: [string, string][]
  body: Uint8Array | null
  /** The request's context variables (identity, route, decision...). */
  vars: AppContext['var']
  legacyTarget: string
  legacyHeaders: string[]
}

/** Compared bodies beyond this are reduced to their status and headers. */
export const SHADOW_BODY_LIMIT = 1024 * 1024

export function snapshotRequest(
  c: AppContext,
  body: Uint8Array | null,
  legacy: { functionsUrl: string; clientIp: string | undefined; proto: string },
): ShadowRequest {
  const route = c.get('route') as NonNullable<AppContext['var']['route']>
  const url = c.req.url
  const q = url.indexOf('?')
  const headers = [...headerEntries(c)].filter(([name]) => !name.toLowerCase().startsWith('x-bff-'))
  return {
    url,
    method: c.req.method,
    headers,
    body,
    vars: { ...c.var },
    legacyTarget: legacyTarget(
      legacy.functionsUrl,
      route.name,
      route.rest,
      q === -1 ? '' : url.slice(q),
    ),
    legacyHeaders: upstreamRequestHeaders(headerList(c), readHeader(c, 'connection'), {
      host: readHeader(c, 'host') ?? new URL(url).host,
      proto: legacy.proto,
      clientIp: legacy.clientIp,
      requestId: `${c.get('requestId')}-shadow`,
      ...legacyTrace(c),
    }),
  }
}

/** A response reduced to what the comparison reads (the body capped). */
export async function observe(response: Response): Promise<ObservedResponse> {
  const text = await readCapped(response, SHADOW_BODY_LIMIT)
  return { status: response.status, headers: response.headers, text: text ?? '' }
}

/** The legacy function's answer to the shadow copy (never following redirects). */
export async function legacyShadowCall(
  req: ShadowRequest,
  { timeoutMs, fetch: fetchImpl = fetch }: { timeoutMs: number; fetch?: typeof fetch },
): Promise<ObservedResponse> {
  const headers = new Headers()
  for (let i = 0; i < req.legacyHeaders.length; i += 2) {
    const name = req.legacyHeaders[i] as string
    // fetch sets these itself from the URL and the body.
    if (name === 'host' || name === 'content-length') continue
    headers.append(name, req.legacyHeaders[i + 1] as string)
  }
  const response = await fetchImpl(req.legacyTarget, {
    method: req.method,
    headers,
    body: req.body as BodyInit | null,
    redirect: 'manual',
    signal: AbortSignal.timeout(timeoutMs),
  })
  return observe(response)
}

/**
 * Runs native handlers on shadow copies: a small app that restores the original request's
 * context variables (a fresh request id, no side effects recorded) and renders problems as the
 * gateway does.
 */
export function nativeShadowRunner(native: Readonly<Record<string, NativeHandler>>) {
  const app = new Hono<AppEnv>()
  app.all('*', async (c) => {
    const req = (c.env as { shadow: ShadowRequest }).shadow
    for (const [key, value] of Object.entries(req.vars)) c.set(key as never, value as never)
    c.set('requestId', `${req.vars.requestId}-shadow`)
    c.set('sideEffect', false)
    c.set('logFields', {})
    c.set('bufferedBody', req.body ?? undefined)
    const handler = native[req.vars.route?.def.id ?? '']
    if (!handler) throw new Error('no native handler for the shadowed route')
    return handler(c)
  })
  app.onError((error, c) => {
    const requestId = c.get('requestId') ?? 'shadow'
    if (error instanceof GatewayError) return problemResponse(error, requestId)
    return problemResponse(gatewayProblem('internal'), requestId)
  })
  return async function nativeShadowCall(req: ShadowRequest): Promise<ObservedResponse> {
    const response = await app.request(
      req.url,
      { method: req.method, headers: req.headers, body: req.body as BodyInit | null },
      { shadow: req },
    )
    return observe(response)
  }
}
