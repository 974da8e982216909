import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { nodeTransport } from '../../legacy-proxy/node-transport.js'
import { type RecordingUpstream, startRecordingUpstream } from '../fakes/recording-upstream.js'
import { startTestGateway, type TestGateway } from '../helpers/gateway.js'
import { eventually, rawClient } from '../helpers/raw-http.js'
import {
  expectation,
  FRAMINGS,
  framingHeaders,
  METHODS,
  requestBytes,
  smuggleBody,
  wellFramed,
} from '../shared/framing-cases.js'

/**
 * Request framing towards legacy over raw sockets, against an upstream that parses what
 * arrives on each pooled connection itself: one well-framed upstream request per client
 * request, never a smuggled one, and no upstream connection left behind.
 */

const IDLE_SOCKET_MS = 400

let upstream: RecordingUpstream
let gateway: TestGateway

beforeAll(async () => {
  upstream = await startRecordingUpstream()
  gateway = await startTestGateway(upstream.functionsUrl, {
    env: {
      // Long enough that only the fix, not a timeout, can close a connection in these tests.
      LEGACY_HEADERS_TIMEOUT_MS: '8000',
      LEGACY_TOTAL_TIMEOUT_MS: '20000',
      LEGACY_SOCKET_IDLE_MS: String(IDLE_SOCKET_MS),
    },
  })
})

afterAll(async () => {
  await gateway?.close()
  await upstream?.close()
})

const cases = METHODS.flatMap((method) => FRAMINGS.map((framing) => ({ method, framing })))
// Each case checks what arrived upstream during that case only.
let seenRequests = 0
let seenErrors = 0
beforeEach(() => {
  seenRequests = upstream.requests.length
  seenErrors = upstream.errors.length
})
const smuggled = () =>
  upstream.requests.slice(seenRequests).filter((r) => r.target.includes('SMUGGLED'))
const protocolErrors = () => upstream.errors.slice(seenErrors)
const sentTo = (target: string) => upstream.requests.filter((r) => r.target === target)
const BODY_METHODS = ['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const
const BODY_FRAMINGS = ['length', 'chunked', 'connection-length'] as const

describe('legacy request framing (Node transport, raw sockets)', () => {
  it.each(cases)('$method with framing $framing', async ({ method, framing }) => {
    const id = `${method}-${framing}`.toLowerCase()
    const target = `/functions/v1/rec/${id}`
    const body = smuggleBody(id)
    const client = await rawClient(gateway.url)
    client.write(requestBytes(method, target, framing, body))
    const res = await client.response({ head: method === 'HEAD' })
    client.destroy()

    // A request from someone else, likely on the same pooled upstream connection.
    const victim = await rawClient(gateway.url)
    victim.write(requestBytes('GET', `${target}/victim`, 'none', Buffer.alloc(0)))
    const victimRes = await victim.response()
    victim.destroy()
    expect(victimRes.status).toBe(200)
    expect(JSON.parse(victimRes.body.toString()).target).toBe(`${target}/victim`)

    const expected = expectation(method, framing)
    if (expected.kind === 'refused') {
      expect(res.status).toBe(expected.status)
      if (framing !== 'te-and-length')
        expect(res.headers['content-type']).toContain('application/problem+json')
      expect(sentTo(target)).toHaveLength(0)
    } else {
      expect(res.status).toBe(200)
      const got = sentTo(target)
      expect(got).toHaveLength(1)
      expect(got[0]?.method).toBe(method)
      const req = got[0] as (typeof got)[0]
      expect(
        // undici, as fetch, frames a bodiless POST, PUT or PATCH with `Content-Length: 0`.
        wellFramed(req, expected.withBody ? body : null, { emptyLength: true }),
        `framing ${JSON.stringify(framingHeaders(req))}, ${req.body.length} bytes`,
      ).toBe(true)
    }
    expect(smuggled()).toEqual([])
    expect(protocolErrors()).toEqual([])
  })

  const uploads = BODY_METHODS.flatMap((method) =>
    BODY_FRAMINGS.map((framing) => ({ method, framing })),
  )

  it.each(uploads)(
    '$method $framing: an early answer, then the client hangs up mid-upload',
    async ({ method, framing }) => {
      const target = `/functions/v1/early/${method}-${framing}-hangup`.toLowerCase()
      const bytes = requestBytes(method, target, framing, smuggleBody('early'))
      const bodyStart = bytes.indexOf('\r\n\r\n') + 4
      const client = await rawClient(gateway.url)
      client.write(bytes.subarray(0, bodyStart + 5))
      const res = await client.response()
      expect(res.status).toBe(200)
      client.destroy()
      expect(await eventually(() => upstream.midRequest() === 0)).toBe(true)
      expect(smuggled()).toEqual([])
      expect(protocolErrors()).toEqual([])
    },
  )

  it.each(uploads)(
    '$method $framing: an early answer, then the client finishes the upload',
    async ({ method, framing }) => {
      const target = `/functions/v1/early/${method}-${framing}-finish`.toLowerCase()
      const bytes = requestBytes(method, target, framing, smuggleBody('early'))
      const bodyStart = bytes.indexOf('\r\n\r\n') + 4
      const client = await rawClient(gateway.url)
      client.write(bytes.subarray(0, bodyStart + 5))
      const res = await client.response()
      expect(res.status).toBe(200)
      client.write(bytes.subarray(bodyStart + 5))
      // The next request on the same client connection, if the gateway kept it.
      client.write(requestBytes('GET', `${target}/next`, 'none', Buffer.alloc(0)))
      await client.response().catch(() => undefined)
      client.destroy()
      expect(await eventually(() => upstream.midRequest() === 0)).toBe(true)
      expect(sentTo(target).length).toBeLessThanOrEqual(1)
      expect(smuggled()).toEqual([])
      expect(protocolErrors()).toEqual([])
    },
  )

  it.each(uploads)(
    '$method $framing: the client aborts mid-upload',
    async ({ method, framing }) => {
      const target = `/functions/v1/rec/${method}-${framing}-abort`.toLowerCase()
      const bytes = requestBytes(method, target, framing, smuggleBody('abort'))
      const bodyStart = bytes.indexOf('\r\n\r\n') + 4
      const client = await rawClient(gateway.url)
      client.write(bytes.subarray(0, bodyStart + 5))
      expect(await eventually(() => upstream.midRequest() > 0)).toBe(true)
      client.destroy()
      expect(await eventually(() => upstream.midRequest() === 0)).toBe(true)
      expect(sentTo(target)).toEqual([])
      expect(smuggled()).toEqual([])
      expect(protocolErrors()).toEqual([])
    },
  )

  it('no request was ever smuggled and every upstream request was well framed', () => {
    expect(upstream.requests.filter((r) => r.target.includes('SMUGGLED'))).toEqual([])
    expect(upstream.errors).toEqual([])
  })

  it('leaves no upstream connection open once its pool lifetime is over', async () => {
    const before = upstream.connections()
    const client = await rawClient(gateway.url)
    client.write(requestBytes('GET', '/functions/v1/rec/idle', 'none', Buffer.alloc(0)))
    expect((await client.response()).status).toBe(200)
    client.destroy()
    expect(upstream.connections()).toBeGreaterThanOrEqual(before)
    // Pooled for keep-alive, then closed by the gateway after LEGACY_SOCKET_IDLE_MS.
    expect(await eventually(() => upstream.open() === 0, IDLE_SOCKET_MS * 10)).toBe(true)
  })
})

describe('legacy pool bounds (Node transport)', () => {
  let small: TestGateway
  let other: RecordingUpstream

  beforeAll(async () => {
    other = await startRecordingUpstream()
    small = await startTestGateway(other.functionsUrl, {
      extra: {
        legacy: nodeTransport({
          headersTimeoutMs: 8_000,
          totalTimeoutMs: 20_000,
          maxSockets: 8,
          maxPerFunction: 2,
          maxSocketAgeMs: 300,
        }),
      },
    })
  })

  afterAll(async () => {
    await small?.close()
    await other?.close()
  })

  it('a function that hangs cannot take the pool from the others', async () => {
    const hanging = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const c = await rawClient(small.url)
        c.write(requestBytes('GET', `/functions/v1/hang/${i}`, 'none', Buffer.alloc(0)))
        return c
      }),
    )
    const refused = await Promise.all(hanging.slice(2).map((c) => c.response()))
    for (const r of refused) {
      expect(r.status).toBe(503)
      expect(r.headers['content-type']).toContain('application/problem+json')
      expect(JSON.parse(r.body.toString()).code).toBe('legacy-function-busy')
      expect(r.headers['retry-after']).toBeDefined()
    }
    const client = await rawClient(small.url)
    client.write(requestBytes('GET', '/functions/v1/rec/innocent', 'none', Buffer.alloc(0)))
    const res = await client.response({ timeoutMs: 5_000 })
    expect(res.status).toBe(200)
    for (const c of [...hanging, client]) c.destroy()
    // The two admitted calls are cancelled with their clients; their sockets are not kept.
    expect(await eventually(() => other.open() <= 1)).toBe(true)
  })

  it('does not reuse a socket past its maximum age', async () => {
    const ask = async (path: string) => {
      const client = await rawClient(small.url)
      client.write(requestBytes('GET', path, 'none', Buffer.alloc(0)))
      const res = await client.response()
      client.destroy()
      return JSON.parse(res.body.toString()).connection as number
    }
    const first = await ask('/functions/v1/rec/age-1')
    expect(await ask('/functions/v1/rec/age-2')).toBe(first)
    await new Promise((r) => setTimeout(r, 400))
    const third = await ask('/functions/v1/rec/age-3')
    expect(third).not.toBe(first)
  })
})
