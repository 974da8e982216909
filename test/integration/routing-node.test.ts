import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type LegacyStandIn, startLegacyStandIn } from '../fakes/legacy-functions.js'
import { userToken } from '../helpers/tokens.js'
import { buildTestApp } from '../helpers/gateway.js'
import { ROUTING_CASES, ROUTING_FLAGS } from '../shared/routing-cases.js'
import { steerableNative } from '../shared/steerable-native.js'

let legacy: LegacyStandIn
let token: string
let app: ReturnType<typeof buildTestApp>

beforeAll(async () => {
  legacy = await startLegacyStandIn()
  token = await userToken('routing-user')
  app = buildTestApp(legacy.functionsUrl, { native: { 'ops-manage': steerableNative }, flags: ROUTING_FLAGS })
})

afterAll(async () => {
  await legacy.close()
})

describe('on Node (the same cases as in workerd)', () => {
  it.each(ROUTING_CASES)('routes: $name', async (c) => {
    const before = legacy.received.length
    const res = await app.request(c.path, { method: c.method, headers: { ...c.headers, ...(c.auth ? { authorization: `Bearer ${token}` } : {}) }, body: c.body })
    expect(res.status).toBe(c.expect.status)
    if (c.expect.backend !== undefined) expect(res.headers.get('x-bff-backend')).toBe(c.expect.backend)
    if (c.expect.problemCode) {
      expect(res.headers.get('content-type')).toBe('application/problem+json')
      expect(((await res.json()) as { code: string }).code).toBe(c.expect.problemCode)
    } else {
      await res.arrayBuffer()
    }
    if (c.expect.upstream === null) expect(legacy.received.length).toBe(before)
    else if (c.expect.upstream) expect(legacy.received.at(-1)?.url).toBe(c.expect.upstream)
  })
})
