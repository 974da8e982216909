import type { Miniflare } from 'miniflare'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type RecordingUpstream, startRecordingUpstream } from '../fakes/recording-upstream.js'
import { eventually, rawClient } from '../helpers/raw-http.js'
import { TEST_JWT_SECRET } from '../helpers/tokens.js'
import { startWorkerd } from '../helpers/workerd.js'
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
 * The framing matrix of `test/integration/proxy-framing.test.ts` against the Workers (fetch)
 * transport inside workerd, over raw sockets to workerd's own HTTP listener.
 */

let upstream: RecordingUpstream
let mf: Miniflare
let base: string

beforeAll(async () => {
  upstream = await startRecordingUpstream()
  mf = await startWorkerd('test/workers/test-worker.ts', {
    LEGACY_FUNCTIONS_URL: upstream.functionsUrl,
    SUPABASE_JWT_SECRET: TEST_JWT_SECRET,
  })
  base = (await mf.ready).toString()
})

afterAll(async () => {
  await mf?.dispose()
  await upstream?.close()
})

let seenRequests = 0
let seenErrors = 0
beforeEach(() => {
  seenRequests = upstream.requests.length
  seenErrors = upstream.errors.length
})
const smuggled = () =>
  upstream.requests.slice(seenRequests).filter((r) => r.target.includes('SMUGGLED'))
const sentTo = (target: string) => upstream.requests.filter((r) => r.target === target)

const cases = METHODS.flatMap((method) => FRAMINGS.map((framing) => ({ method, framing })))

describe('legacy request framing (Workers transport in workerd, raw sockets)', () => {
  it.each(cases)('$method with framing $framing', async ({ method, framing }) => {
    const id = `wd-${method}-${framing}`.toLowerCase()
    const target = `/functions/v1/rec/${id}`
    const body = smuggleBody(id)
    const client = await rawClient(base)
    client.write(requestBytes(method, target, framing, body))
    const res = await client.response({ head: method === 'HEAD' })
    client.destroy()

    const expected = expectation(method, framing)
    if (expected.kind === 'refused') {
      expect(res.status).toBe(expected.status)
      expect(sentTo(target)).toHaveLength(0)
    } else {
      expect(res.status).toBe(200)
      const got = sentTo(target)
      expect(got).toHaveLength(1)
      expect(got[0]?.method).toBe(method)
      const req = got[0] as (typeof got)[0]
      expect(
        wellFramed(req, expected.withBody ? body : null, { emptyLength: true }),
        `framing ${JSON.stringify(framingHeaders(req))}, ${req.body.length} bytes`,
      ).toBe(true)
    }
    expect(smuggled()).toEqual([])
    expect(upstream.errors.slice(seenErrors)).toEqual([])
  })

  const uploads = (['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const).flatMap((method) =>
    (['length', 'chunked'] as const).map((framing) => ({ method, framing })),
  )

  it.each(uploads)(
    '$method $framing: the client aborts mid-upload',
    async ({ method, framing }) => {
      const target = `/functions/v1/rec/wd-${method}-${framing}-abort`.toLowerCase()
      const bytes = requestBytes(method, target, framing, smuggleBody('abort'))
      const bodyStart = bytes.indexOf('\r\n\r\n') + 4
      const client = await rawClient(base)
      client.write(bytes.subarray(0, bodyStart + 5))
      expect(await eventually(() => upstream.midRequest() > 0)).toBe(true)
      client.destroy()
      expect(await eventually(() => upstream.midRequest() === 0)).toBe(true)
      expect(sentTo(target)).toEqual([])
      expect(smuggled()).toEqual([])
    },
  )

  it.each(uploads)(
    '$method $framing: an early answer, then the client hangs up mid-upload',
    async ({ method, framing }) => {
      const target = `/functions/v1/early/wd-${method}-${framing}-hangup`.toLowerCase()
      const bytes = requestBytes(method, target, framing, smuggleBody('early'))
      const bodyStart = bytes.indexOf('\r\n\r\n') + 4
      const client = await rawClient(base)
      client.write(bytes.subarray(0, bodyStart + 5))
      const res = await client.response()
      expect(res.status).toBe(200)
      client.destroy()
      expect(await eventually(() => upstream.midRequest() === 0)).toBe(true)
      expect(smuggled()).toEqual([])
    },
  )

  it('no request was ever smuggled and every upstream request was well framed', () => {
    expect(upstream.requests.filter((r) => r.target.includes('SMUGGLED'))).toEqual([])
    expect(upstream.errors).toEqual([])
  })
})
