import { expect } from 'vitest'

/**
 * Routing cases run twice: on Node (`app.request`) and inside workerd (Miniflare), against the
 * same legacy stand-in, so both runtimes are held to one behaviour.
 */
export interface RoutingCase {
  name: string
  method: string
  path: string
  headers?: Record<string, string>
  body?: string
  /** Send a signed user token (the route's auth policy requires one). */
  auth?: boolean
  expect: {
    status: number
    backend?: string | null
    /** Path and query the legacy stand-in must have received, or null when it must not be called. */
    upstream?: string | null
    problemCode?: string
  }
}

/** Flags the routing cases assume (ops-manage has a test native handler in both runtimes). */
export const ROUTING_FLAGS = { 'ops-manage': { native: 100 }, 'payment-checkout': { native: 0 } }

export const ROUTING_CASES: RoutingCase[] = [
  {
    name: 'unknown function proxied as is',
    method: 'GET',
    path: '/functions/v1/hello-world/a/b?x=1',
    expect: { status: 200, backend: 'legacy', upstream: '/functions/v1/hello-world/a/b?x=1' },
  },
  {
    name: 'alias to a route at 0 %',
    auth: true,
    method: 'POST',
    path: '/api/v1/checkout',
    body: '{"items":[]}',
    expect: { status: 200, backend: 'legacy', upstream: '/functions/v1/payment-checkout' },
  },
  {
    name: 'route at 100 % served natively',
    auth: true,
    method: 'POST',
    path: '/functions/v1/ops-manage',
    body: 'hi',
    expect: { status: 200, backend: 'native', upstream: null },
  },
  {
    // ops-manage declares replay `before-effect`: a failure before any effect goes to legacy.
    name: 'native dependency down falls back to legacy',
    auth: true,
    method: 'POST',
    path: '/functions/v1/ops-manage?mode=dependency-down',
    body: 'payload',
    expect: {
      status: 200,
      backend: 'legacy-fallback',
      upstream: '/functions/v1/ops-manage?mode=dependency-down',
    },
  },
  {
    name: 'development override forces legacy',
    auth: true,
    method: 'POST',
    path: '/functions/v1/ops-manage',
    headers: { 'x-bff-backend': 'legacy' },
    expect: { status: 200, backend: 'legacy', upstream: '/functions/v1/ops-manage' },
  },
  {
    name: 'stay-legacy never native',
    auth: true,
    method: 'POST',
    path: '/functions/v1/payment-confirm',
    headers: { 'x-bff-backend': 'native' },
    expect: { status: 200, backend: 'legacy', upstream: '/functions/v1/payment-confirm' },
  },
  {
    name: 'encoded slash refused',
    method: 'GET',
    path: '/functions/v1/hello/a%2Fb',
    expect: { status: 400, upstream: null, problemCode: 'invalid-function-path' },
  },
  {
    name: 'upper-case function name refused',
    method: 'GET',
    path: '/functions/v1/Hello',
    expect: { status: 400, upstream: null, problemCode: 'invalid-function-path' },
  },
  {
    name: 'required auth without a token',
    method: 'POST',
    path: '/functions/v1/ops-manage',
    expect: { status: 401, upstream: null, problemCode: 'authentication-required' },
  },
  {
    name: 'unknown API path',
    method: 'GET',
    path: '/api/v1/does-not-exist',
    expect: { status: 404, upstream: null, problemCode: 'not-found' },
  },
  {
    name: 'method not allowed',
    method: 'GET',
    path: '/api/v1/checkout',
    expect: { status: 405, upstream: null, problemCode: 'method-not-allowed' },
  },
  {
    name: 'bad override value',
    auth: true,
    method: 'POST',
    path: '/functions/v1/ops-manage',
    headers: { 'x-bff-backend': 'sideways' },
    expect: { status: 400, upstream: null, problemCode: 'invalid-backend-override' },
  },
  {
    name: 'legacy error passes through',
    method: 'GET',
    path: '/functions/v1/error',
    expect: { status: 500, backend: 'legacy', upstream: '/functions/v1/error' },
  },
]

/** The request init of a case, with the signed user token when the case needs one. */
export function caseInit(c: RoutingCase, token: string): RequestInit {
  return {
    method: c.method,
    headers: { ...c.headers, ...(c.auth ? { authorization: `Bearer ${token}` } : {}) },
    body: c.body,
  }
}

/** Assert what a case expects of the response and of the legacy stand-in's received requests. */
export async function expectCase(
  c: RoutingCase,
  res: Response,
  received: readonly { url: string }[],
  receivedBefore: number,
): Promise<void> {
  expect(res.status).toBe(c.expect.status)
  if (c.expect.backend !== undefined)
    expect(res.headers.get('x-bff-backend')).toBe(c.expect.backend)
  if (c.expect.problemCode) {
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    expect(((await res.json()) as { code: string }).code).toBe(c.expect.problemCode)
  } else {
    await res.arrayBuffer()
  }
  if (c.expect.upstream === null) expect(received.length).toBe(receivedBefore)
  else if (c.expect.upstream) expect(received.at(-1)?.url).toBe(c.expect.upstream)
}
