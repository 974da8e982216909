import { afterAll, beforeAll, describe, it } from 'vitest'
import { type LegacyStandIn, startLegacyStandIn } from '../fakes/legacy-functions.js'
import { buildTestApp } from '../helpers/gateway.js'
import { userToken } from '../helpers/tokens.js'
import { caseInit, expectCase, ROUTING_CASES, ROUTING_FLAGS } from '../shared/routing-cases.js'
import { steerableNative } from '../shared/steerable-native.js'

let legacy: LegacyStandIn
let token: string
let app: ReturnType<typeof buildTestApp>

beforeAll(async () => {
  legacy = await startLegacyStandIn()
  token = await userToken('routing-user')
  app = buildTestApp(legacy.functionsUrl, {
    native: { 'ops-manage': steerableNative },
    flags: ROUTING_FLAGS,
  })
})

afterAll(async () => {
  await legacy.close()
})

describe('on Node (the same cases as in workerd)', () => {
  it.each(ROUTING_CASES)('routes: $name', async (c) => {
    const before = legacy.received.length
    const res = await app.request(c.path, caseInit(c, token))
    await expectCase(c, res as Response, legacy.received, before)
  })
})
