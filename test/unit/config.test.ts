import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../../src/config.js'

function errorOf(env: Record<string, string>): string {
  try {
    loadConfig(env)
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return (error as Error).message
  }
  throw new Error('expected a ConfigError')
}

describe('loadConfig', () => {
  it('has working development defaults', () => {
    const config = loadConfig({})
    expect(config.PORT).toBe(8787)
    expect(config.APP_ENV).toBe('development')
    expect(config.legacyFunctionsUrl).toBe('http://127.0.0.1:54321/functions/v1')
    expect(config.REPLAY_BUFFER_BYTES).toBe(1024 * 1024)
  })

  it('derives the legacy URL, JWKS and issuer from SUPABASE_URL', () => {
    const config = loadConfig({ SUPABASE_URL: 'https://abc.supabase.co/' })
    expect(config.legacyFunctionsUrl).toBe('https://abc.supabase.co/functions/v1')
    expect(config.jwksUrl).toBe('https://abc.supabase.co/auth/v1/.well-known/jwks.json')
    expect(config.jwtIssuer).toBe('https://abc.supabase.co/auth/v1')
  })

  it('takes a Google Cloud project id for the log lines’ trace field, and refuses a malformed one', () => {
    expect(loadConfig({ GOOGLE_CLOUD_PROJECT: 'bff-gateway-prod' }).GOOGLE_CLOUD_PROJECT).toBe(
      'bff-gateway-prod',
    )
    expect(loadConfig({}).GOOGLE_CLOUD_PROJECT).toBeUndefined()
    expect(errorOf({ GOOGLE_CLOUD_PROJECT: 'Bad/Project' })).toContain('GOOGLE_CLOUD_PROJECT')
  })

  it('treats empty strings as unset', () => {
    expect(loadConfig({ PORT: '', APP_ENV: '' }).PORT).toBe(8787)
  })

  it.each([
    [{ PORT: 'eighty' }, 'config error: PORT must be an integer from 1 to 65535 (got "eighty")'],
    [{ PORT: '70000' }, 'config error: PORT must be an integer from 1 to 65535 (got "70000")'],
    [
      { APP_ENV: 'prod' },
      'config error: APP_ENV must be one of development, staging, production (got "prod")',
    ],
    [
      { LEGACY_FUNCTIONS_URL: 'ftp://x' },
      'config error: LEGACY_FUNCTIONS_URL must be an http(s) URL (got "ftp://x")',
    ],
    [
      { ALLOWED_ORIGINS: 'https://a.com/path' },
      'config error: ALLOWED_ORIGINS must be comma-separated origins like https://app.example.com (scheme and host, no path) (got "https://a.com/path")',
    ],
    [
      { REDIS_URL: 'localhost:6379' },
      'config error: REDIS_URL must be a redis:// or rediss:// URL',
    ],
  ])('stops with one line naming the variable for %j', (env, message) => {
    expect(errorOf(env)).toBe(message)
  })

  it('never echoes a secret value', () => {
    const message = errorOf({ BFF_CANARY_SECRET: 'short-secret' })
    expect(message).toBe('config error: BFF_CANARY_SECRET must be at least 32 characters')
    expect(message).not.toContain('short-secret')
  })

  it('requires a legacy URL and a canary secret outside development', () => {
    expect(errorOf({ APP_ENV: 'staging' })).toContain('LEGACY_FUNCTIONS_URL')
    expect(errorOf({ APP_ENV: 'staging', SUPABASE_URL: 'https://a.supabase.co' })).toContain(
      'BFF_CANARY_SECRET',
    )
  })

  it('requires the Upstash URL and token together', () => {
    expect(errorOf({ UPSTASH_REDIS_REST_URL: 'https://x.upstash.io' })).toContain(
      'UPSTASH_REDIS_REST_TOKEN',
    )
  })

  it('refuses a wildcard origin in production', () => {
    const env = {
      APP_ENV: 'production',
      SUPABASE_URL: 'https://a.supabase.co',
      BFF_CANARY_SECRET: 'x'.repeat(32),
      ALLOWED_ORIGINS: '*',
    }
    expect(errorOf(env)).toContain('ALLOWED_ORIGINS')
  })

  it('reads the telemetry exporters, off by default', () => {
    const off = loadConfig({})
    expect(off.SENTRY_DSN).toBeUndefined()
    expect(off.OTEL_EXPORTER_OTLP_ENDPOINT).toBeUndefined()
    expect(off.OTEL_SERVICE_NAME).toBe('bff-gateway')
    expect(off.OTEL_TRACES_SAMPLER_ARG).toBe(1)
    const on = loadConfig({
      SENTRY_DSN: 'https://0123abcd@o1.ingest.sentry.io/4501',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318/',
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20abc,x-tenant=gw',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
    })
    expect(on.SENTRY_DSN).toBe('https://0123abcd@o1.ingest.sentry.io/4501')
    expect(on.OTEL_EXPORTER_OTLP_ENDPOINT).toBe('http://127.0.0.1:4318')
    expect(on.OTEL_TRACES_SAMPLER_ARG).toBe(0.25)
  })

  it('refuses a malformed DSN or OTLP setting without echoing the DSN', () => {
    const message = errorOf({ SENTRY_DSN: 'https://o1.ingest.sentry.io/4501?key=secret123' })
    expect(message).toBe(
      'config error: SENTRY_DSN must be a Sentry DSN (https://<key>@<host>/<project id>)',
    )
    expect(message).not.toContain('secret123')
    expect(errorOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toContain(
      'OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s) URL',
    )
    expect(errorOf({ OTEL_EXPORTER_OTLP_HEADERS: 'Bearer abc' })).toBe(
      'config error: OTEL_EXPORTER_OTLP_HEADERS must be comma-separated name=value pairs (e.g. authorization=Bearer%20token)',
    )
    expect(errorOf({ OTEL_TRACES_SAMPLER_ARG: '1.5' })).toContain('OTEL_TRACES_SAMPLER_ARG')
  })
})
