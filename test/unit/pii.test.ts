import { describe, expect, it } from 'vitest'
import { createLogger } from '../../src/observability/log.js'
import { isSensitiveKey, maskPii, maskString } from '../../src/observability/pii.js'

const JWT =
  'eyJhbGciOiJFUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiI1NTBlODQwMCIsInJvbGUiOiJhdXRoZW50aWNhdGVkIn0.c2lnbmF0dXJl'

describe('maskString: personal data and secrets are masked', () => {
  it.each([
    ['e-mail', 'contact kim.minsu+fan@example.co.kr please', 'contact [email] please'],
    ['mobile with dashes', '연락처 010-1234-5678 입니다', '연락처 [phone] 입니다'],
    ['mobile without dashes', 'phone=01012345678', 'phone=[phone]'],
    ['mobile with spaces', 'call 010 1234 5678', 'call [phone]'],
    ['mobile +82', 'intl +82 10-1234-5678', 'intl [phone]'],
    ['mobile +82 compact', '+821012345678', '[phone]'],
    ['old 3-digit middle', '011-123-4567', '[phone]'],
    ['Seoul landline', 'office 02-123-4567', 'office [phone]'],
    ['regional landline', '031-1234-5678', '[phone]'],
    ['resident number', 'rrn 900101-1234568', 'rrn [rrn]'],
    ['resident number, no checksum needed with dash', '850315-2876541', '[rrn]'],
    ['resident number without dash', '9001011234568', '[rrn]'],
    ['resident number with a space', '주민번호 900101 1234568 입니다', '주민번호 [rrn] 입니다'],
    ['card with spaces', 'card 4111 1111 1111 1111 ok', 'card [card] ok'],
    ['card with dashes', '4111-1111-1111-1111', '[card]'],
    ['card plain', '5409123412341238', '[card]'],
    ['Korean domestic card', '9410123412341237', '[card]'],
    ['Amex 4-6-5', '3782 822463 10005', '[card]'],
    ['Shinhan account', '계좌 110-123-456789', '계좌 [account]'],
    ['Woori account', '1002-123-456789', '[account]'],
    ['NH account', '352-1234-5678-93', '[account]'],
    ['KB account', '123456-01-123456', '[account]'],
    ['JWT', `token ${JWT} end`, 'token [jwt] end'],
    [
      'bearer opaque',
      'Authorization: Bearer sb_publishable_abc123XYZ',
      'Authorization: Bearer [redacted]',
    ],
    ['bearer JWT', `Bearer ${JWT}`, 'Bearer [jwt]'],
    ['basic credentials', 'Basic dGVzdF9za196WExrS0V5cE5Bcldtbzo=', 'Basic [redacted]'],
    ['Toss test secret', 'key=test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R', 'key=[toss-secret-key]'],
    ['Toss live secret', 'using live_sk_abcDEF123 now', 'using [toss-secret-key] now'],
    ['Toss widget secret', 'test_gsk_docs_OaPz8L5KdmQXkzRz3y47BMw6', '[toss-secret-key]'],
    ['Supabase secret key', 'sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz', '[supabase-secret-key]'],
    [
      'URL credentials',
      'postgres://app:s3cret@db.internal:5432/bff',
      'postgres://[redacted]@db.internal:5432/bff',
    ],
    [
      'token in a query',
      'GET /cb?access_token=abc.def&page=2',
      'GET /cb?access_token=[redacted]&page=2',
    ],
  ])('%s', (_name, input, expected) => {
    expect(maskString(input)).toBe(expected)
  })

  it('masks several kinds in one string', () => {
    expect(maskString('kim@example.com / 010-1111-2222 / 4111111111111111')).toBe(
      '[email] / [phone] / [card]',
    )
  })
})

describe('maskString: identity keys', () => {
  it.each([
    [
      'CI (88 base64 characters)',
      'Xb3Kq9Zr/T1mN0pLw+8vYc2dEfGhIjKlMnOpQrStUvWxYz0123456789AbCdEfGhIjKlMnOpQrStUvWxYz012345==',
    ],
    [
      'DI (64 base64 characters)',
      'MC0GCCqGSIb3DQIJAyEAq7Xv9Lm2Np4Qr8St0Uv1Wx2Yz3Ab4Cd5Ef6Gh7Ij8Kl9M',
    ],
  ])('masks a %s inside text', (_name, value) => {
    expect(maskString(`duplicate ${value} found`)).toBe('duplicate [identity-key] found')
  })
})

describe('maskString: ordinary values are left alone', () => {
  it.each([
    ['UUID', '550e8400-e29b-41d4-a716-446655440000'],
    ['numeric UUID', '12345678-1234-1234-1234-123456789012'],
    ['order id', 'ORD-20240101-0001'],
    ['order id with timestamp', 'order_1712101234567'],
    ['Toss order id', 'a4CWyWY5m89PNh7xJwhk1'],
    ['ISO timestamp', '2024-01-01T12:00:00.000Z'],
    ['date', '2024-01-01'],
    ['epoch ms', '1735689600000'],
    ['epoch ms that passes Luhn', '1735689600005'],
    ['epoch seconds', '1735689600'],
    ['amount', '50000'],
    ['formatted amount', '1,000,000원'],
    ['card not passing Luhn', '4111111111111112'],
    ['13 digits, not a date', '9913991234567'],
    ['resident-like with bad checksum', '9001011234567'],
    ['short dashed number', '12-34-56'],
    ['English prose', 'basic information for a bearer of news'],
    ['Toss client key (public)', 'test_ck_D5GePWvyJnrK0W0k6q8gLzN97Eoq'],
    ['request id', 'req_01HZX3K4M5N6P7Q8R9S0T1U2V3'],
    ['version', 'v1.2.3-beta.4'],
    ['IPv4', '203.0.113.7'],
    ['Korean text', '결제가 완료되었습니다'],
    ['SHA-256 hex digest', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    [
      'base64url ciphertext',
      'q7Xv9Lm2Np4Qr8St0Uv1Wx2Yz3Ab4Cd5Ef6Gh7Ij8Kl9M-_aBcDeFgHiJkLmNoPqRsTuVwXyZ',
    ],
  ])('%s', (_name, input) => {
    expect(maskString(input)).toBe(input)
  })

  it('returns the same string object on the fast path', () => {
    const s = 'payment-checkout native ok'
    expect(maskString(s)).toBe(s)
  })
})

describe('isSensitiveKey', () => {
  it.each([
    'ci',
    'ciHash',
    'di',
    'gender',
    'verifiedCustomer',
    'personalData',
    'password',
    'email',
    'userEmail',
    'customerEmail',
    'customerMobilePhone',
    'phoneNumber',
    'authorization',
    'Authorization',
    'cookie',
    'set-cookie',
    'apikey',
    'apiKey',
    'x-api-key',
    'ANTHROPIC_API_KEY',
    'SUPABASE_SERVICE_ROLE_KEY',
    'TOSS_SECRET_KEY',
    'secretKey',
    'webhookSecret',
    'client_secret',
    'accessToken',
    'refresh_token',
    'token',
    'x-bff-canary',
    'accountNumber',
    'account_no',
    'cardNumber',
    'rrn',
    'ssn',
    'residentRegistrationNumber',
    'customerName',
    'holderName',
    'birthDate',
    'tosspayments-webhook-signature',
  ])('%s is sensitive', (key) => {
    expect(isSensitiveKey(key)).toBe(true)
  })

  it.each([
    'routeId',
    'idempotencyKey',
    'Idempotency-Key',
    'routeKey',
    'cacheKey',
    'key',
    'keyId',
    'kid',
    'orderId',
    'orderName',
    'amount',
    'maxTokens',
    'inputTokens',
    'tokenCount',
    'requestId',
    'subject',
    'classname',
    'business',
    'currency',
    'canaryPercent',
    'method',
    'status',
  ])('%s is not sensitive', (key) => {
    expect(isSensitiveKey(key)).toBe(false)
  })
})

describe('maskPii', () => {
  it('redacts by key, masks strings, keeps everything else', () => {
    const input = {
      routeId: 'payment-checkout',
      orderId: 'ORD-20240101-0001',
      amount: 39000,
      idempotencyKey: 'refund:8c1f',
      email: 'kim@example.com',
      emailVerified: true,
      phone: null,
      headers: { authorization: `Bearer ${JWT}`, 'content-type': 'application/json' },
      note: 'call 010-1234-5678',
      items: [{ cardNumber: '4111111111111111', qty: 1 }, 'mail kim@example.com'],
    }
    expect(maskPii(input)).toEqual({
      routeId: 'payment-checkout',
      orderId: 'ORD-20240101-0001',
      amount: 39000,
      idempotencyKey: 'refund:8c1f',
      email: '[redacted]',
      emailVerified: true,
      phone: null,
      headers: { authorization: '[redacted]', 'content-type': 'application/json' },
      note: 'call [phone]',
      items: [{ cardNumber: '[redacted]', qty: 1 }, 'mail [email]'],
    })
  })

  it('does not change its input', () => {
    const input = { email: 'a@b.co', nested: { note: '010-1234-5678' } }
    maskPii(input)
    expect(input).toEqual({ email: 'a@b.co', nested: { note: '010-1234-5678' } })
  })

  it('cuts cycles but not shared references', () => {
    const shared = { n: 1 }
    const node: Record<string, unknown> = { a: shared, b: shared }
    node.self = node
    expect(maskPii(node)).toEqual({ a: { n: 1 }, b: { n: 1 }, self: '[circular]' })
  })

  it('bounds depth and length', () => {
    let deep: Record<string, unknown> = { leaf: true }
    for (let i = 0; i < 20; i++) deep = { next: deep }
    expect(JSON.stringify(maskPii(deep))).toContain('[depth limit]')
    const long = maskPii(Array.from({ length: 500 }, (_, i) => i)) as unknown[]
    expect(long).toHaveLength(201)
    expect(long[200]).toBe('[+300 more]')
  })

  it('turns values JSON cannot hold into loggable ones', () => {
    const error = Object.assign(new Error('failed for kim@example.com'), { code: 'E1' })
    expect(
      maskPii({
        big: 12n,
        when: new Date(0),
        error,
        fn: () => 1,
        bytes: new Uint8Array(3),
        map: new Map([['email', 'a@b.co']]),
        headers: new Headers({ cookie: 'sid=1', accept: '*/*' }),
      }),
    ).toEqual({
      big: '12',
      when: '1970-01-01T00:00:00.000Z',
      error: { name: 'Error', message: 'failed for [email]', code: 'E1' },
      fn: undefined,
      bytes: '[binary 3 bytes]',
      map: { email: '[redacted]' },
      headers: { accept: '*/*', cookie: '[redacted]' },
    })
  })

  it('keeps a log line free of personal data end to end', () => {
    const lines: string[] = []
    const logger = createLogger({ write: (line) => lines.push(line) })
    logger.info('checkout for kim@example.com', {
      customerMobilePhone: '01012345678',
      detail: 'card 4111 1111 1111 1111 account 110-123-456789',
      tossKey: 'test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R',
    })
    const line = lines[0] ?? ''
    for (const secret of ['kim@example.com', '01012345678', '4111', '456789', 'test_sk_']) {
      expect(line).not.toContain(secret)
    }
    expect(JSON.parse(line).message).toBe('checkout for [email]')
  })
})

describe('the access-log line', () => {
  const record = {
    requestId: 'a1b2c3d4-0000-4000-8000-000000000000',
    requestIdFromClient: false,
    method: 'GET',
    path: '/functions/v1/echo',
    route: 'echo',
    routeKnown: true,
    backend: 'legacy',
    reason: 'no-native-handler',
    bucket: undefined,
    subjectSource: 'none',
    status: 200,
    latencyMs: 12.3,
    upstreamMs: 10.1,
    trace: undefined,
    extra: undefined,
  }

  it('masks every field a client controls, including a method Workers would pass', () => {
    const lines: string[] = []
    const logger = createLogger({ write: (line) => lines.push(line) })
    logger.access({
      ...record,
      requestId: '010-2345-6789',
      requestIdFromClient: true,
      method: '01023456789',
      path: '/functions/v1/900101-1234568/kim%40example.com',
      route: '900101-1234568',
      routeKnown: false,
      extra: { note: 'call 010-2345-6789', email: 'kim@example.com', fallback: 'flag' },
    })
    const line = lines[0] ?? ''
    for (const secret of ['010-2345-6789', '01023456789', '900101-1234568', 'kim', 'example.com'])
      expect(line).not.toContain(secret)
    expect(JSON.parse(line)).toMatchObject({ fallback: 'flag', httpRequest: { status: 200 } })
  })

  it('writes Cloud Logging fields, and the gateway keys win over a handler’s field', () => {
    const lines: string[] = []
    const logger = createLogger({
      write: (line) => lines.push(line),
      base: { service: 'bff-gateway' },
      traceProject: 'my-project',
    })
    logger.access({
      ...record,
      trace: {
        traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
        spanId: '00f067aa0ba902b7',
        parentSpanId: undefined,
        sampled: true,
        source: 'traceparent',
      },
      extra: { route: 'spoofed', severity: 'ERROR' },
    })
    const parsed = JSON.parse(lines[0] ?? '')
    expect(parsed).toMatchObject({
      severity: 'INFO',
      message: 'request',
      service: 'bff-gateway',
      route: 'echo',
      httpRequest: {
        requestMethod: 'GET',
        requestUrl: '/functions/v1/echo',
        status: 200,
        latency: '0.0123s',
      },
      'logging.googleapis.com/trace': 'projects/my-project/traces/4bf92f3577b34da6a3ce929d0e0e4736',
      'logging.googleapis.com/spanId': '00f067aa0ba902b7',
      'logging.googleapis.com/trace_sampled': true,
    })
    expect(parsed.httpRequest.remoteIp).toBeUndefined()
    expect(parsed.httpRequest.userAgent).toBeUndefined()
  })

  it('maps levels to Cloud Logging severities and writes nothing below the threshold', () => {
    const lines: string[] = []
    const logger = createLogger({ level: 'warn', write: (line) => lines.push(line) })
    logger.info('dropped')
    logger.access(record)
    logger.warn('w')
    logger.error('e', { severity: 'DEBUG', message: 'spoofed' })
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({ severity: 'WARNING', message: 'w' }),
      expect.objectContaining({ severity: 'ERROR', message: 'e' }),
    ])
  })
})

describe('maskString fast path', () => {
  it('skips strings with no digit pair or trigger, and still scans every long one', () => {
    expect(maskString('/functions/v1/payment-checkout')).toBe('/functions/v1/payment-checkout')
    // A DI (64 base64 characters) whose digits never touch: scanned because of its length.
    const di = 'MC0GCCqGSIb3DQIJAyEAq7Xv9Lm2Np4Qr8St0Uv1Wx2Yz3Ab4Cd5Ef6Gh7Ij8Kl9M'
    expect(maskString(`di ${di}`)).toBe('di [identity-key]')
    expect(maskString('/functions/v1/kim%40example.com')).toBe('/functions/v1/[email]')
    expect(maskString('call 010-2345-6789')).toBe('call [phone]')
  })
})
