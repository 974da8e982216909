import { describe, expect, it } from 'vitest'
import { dsnHost, reportFields, scrubEvent } from '../../src/observability/error-report.js'

describe('scrubEvent', () => {
  it('drops the request, user and breadcrumbs and masks what is left', () => {
    const event = scrubEvent({
      message: 'charge failed for kim@example.com',
      request: {
        url: 'https://gw/x?email=kim@example.com',
        headers: { authorization: 'Bearer x' },
      },
      user: { ip_address: '203.0.113.7' },
      breadcrumbs: [{ message: 'GET https://gw/?token=abc' }],
      extra: { customerMobilePhone: '01012345678', note: 'call 010-1234-5678' },
      tags: { request_id: 'req-1', note: 'card 4111 1111 1111 1111' },
      contexts: {
        trace: { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7' },
        gateway: { path: '/functions/v1/x/kim@example.com' },
      },
      exception: { values: [{ value: 'no row for 900101-1234568' }] },
    })
    expect(event).not.toHaveProperty('request')
    expect(event).not.toHaveProperty('user')
    expect(event).not.toHaveProperty('breadcrumbs')
    expect(event.message).toBe('charge failed for [email]')
    expect(event.extra).toEqual({ customerMobilePhone: '[redacted]', note: 'call [phone]' })
    expect(event.tags).toEqual({ request_id: 'req-1', note: 'card [card]' })
    expect(event.contexts).toEqual({
      trace: { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7' },
      gateway: { path: '/functions/v1/x/[email]' },
    })
    expect(event.exception?.values?.[0]?.value).toBe('no row for [rrn]')
  })
})

describe('reportFields', () => {
  it('carries ids and the masked path only', () => {
    expect(
      reportFields({
        requestId: 'req-1',
        routeId: undefined,
        traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
        method: 'GET',
        path: '/api/v1/users/kim%40example.com',
      }),
    ).toEqual({
      tags: { request_id: 'req-1', route: 'none', trace_id: '4bf92f3577b34da6a3ce929d0e0e4736' },
      gateway: { requestId: 'req-1', route: null, method: 'GET', path: '/api/v1/users/[email]' },
    })
  })
})

describe('dsnHost', () => {
  it('names the host, never the key', () => {
    expect(dsnHost('https://0123abcd@o1.ingest.sentry.io/4501')).toBe('o1.ingest.sentry.io')
  })
})
