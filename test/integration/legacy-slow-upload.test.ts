import http from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type LegacyStandIn, startLegacyStandIn } from '../fakes/legacy-functions.js'
import { startTestGateway, type TestGateway } from '../helpers/gateway.js'

/**
 * A client uploading slowly to a legacy function: the function's headers deadline counts from
 * the moment the body went out whole, and a body that is too slow meets the body deadline (408),
 * not a 504 blaming the function. (Found by the legacy-pathologies drill: with
 * LEGACY_HEADERS_TIMEOUT_MS below BODY_TIMEOUT_MS every slow upload was a 504.)
 */
let legacy: LegacyStandIn
let gateway: TestGateway

beforeAll(async () => {
  legacy = await startLegacyStandIn()
  gateway = await startTestGateway(legacy.functionsUrl, {
    env: {
      BODY_TIMEOUT_MS: '2000',
      LEGACY_HEADERS_TIMEOUT_MS: '400',
      LEGACY_TOTAL_TIMEOUT_MS: '10000',
    },
  })
})

afterAll(async () => {
  await gateway?.close()
  await legacy?.close()
})

/** POST `parts` one every `gapMs`, declaring `declared` bytes; the status and body answered. */
function upload(parts: string[], gapMs: number, declared: number) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request(`${gateway.url}/functions/v1/binary`, {
      method: 'POST',
      agent: false,
      headers: { 'content-type': 'text/plain', 'content-length': String(declared) },
    })
    req.on('response', (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => {
        body += d
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    let i = 0
    const tick = () => {
      if (i < parts.length) req.write(parts[i++])
      if (i < parts.length) setTimeout(tick, gapMs)
    }
    tick()
  })
}

describe('slow uploads to a legacy function', () => {
  it('forwards a body that takes longer than the headers deadline but arrives in time', async () => {
    const parts = ['aaaa', 'bbbb', 'cccc', 'dddd']
    const res = await upload(parts, 300, 16)
    expect(res.status).toBe(200)
    expect(res.body).toBe(parts.join(''))
  })

  it('answers 408 body-timeout, not 504, when the body misses its deadline', async () => {
    const res = await upload(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'], 300, 100)
    expect(res.status).toBe(408)
    expect(JSON.parse(res.body).code).toBe('body-timeout')
  })
})
