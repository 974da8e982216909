import { APIConnectionError, APIConnectionTimeoutError, APIError } from '@anthropic-ai/sdk'
import { BrokenCircuitError } from 'cockatiel'
import { describe, expect, it } from 'vitest'
import { anthropicFromConfig, reasonOf } from '../../routes/ai/anthropic.js'

const apiError = (status: number, type: string) =>
  APIError.generate(status, { type: 'error', error: { type, message: type } }, type, new Headers())

describe('reasonOf', () => {
  it.each([
    [apiError(429, 'rate_limit_error'), 'rate-limited'],
    [apiError(529, 'overloaded_error'), 'overloaded'],
    [apiError(500, 'api_error'), 'server-error'],
    [apiError(503, 'api_error'), 'server-error'],
    [apiError(504, 'timeout_error'), 'timeout'],
    [apiError(400, 'invalid_request_error'), 'upstream-error'],
    [new APIConnectionTimeoutError(), 'timeout'],
    [new APIConnectionError({ message: 'ECONNREFUSED' }), 'connection'],
    [new BrokenCircuitError(), 'breaker-open'],
    [new Error('other'), 'upstream-error'],
  ])('%s → %s', (error, reason) => {
    expect(reasonOf(error)).toBe(reason)
  })
})

describe('anthropicFromConfig', () => {
  it('is undefined without a key, so the AI routes stay on legacy', () => {
    expect(
      anthropicFromConfig({ ANTHROPIC_API_KEY: undefined, ANTHROPIC_BASE_URL: undefined }),
    ).toBeUndefined()
  })

  it('uses the configured models and starts with closed breakers', () => {
    const client = anthropicFromConfig(
      { ANTHROPIC_API_KEY: 'sk-ant-test', ANTHROPIC_BASE_URL: 'http://127.0.0.1:9' },
      { primaryModel: 'claude-opus-5-5' },
    )
    expect(client?.models).toEqual({ primary: 'claude-opus-5-5', fallback: 'claude-haiku-5-5' })
    expect(client?.breakerStates()).toEqual({
      'claude-opus-5-5': 'closed',
      'claude-haiku-5-5': 'closed',
    })
    expect(client?.available()).toBe(true)
  })
})
