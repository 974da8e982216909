import { z } from 'zod'
import { AppError } from './errors.js'

/**
 * Configuration comes from the environment through this one schema. A bad or missing value
 * stops start-up with one line naming the variable and what is expected (`ConfigError`).
 */

export const SECRET_VARS = new Set([
  'SUPABASE_SERVICE_ROLE_KEY',
  'SUPABASE_JWT_SECRET',
  'UPSTASH_REDIS_REST_TOKEN',
  'TOSS_SECRET_KEY',
  'ANTHROPIC_API_KEY',
  'BFF_ADMIN_TOKEN',
  'BFF_CANARY_SECRET',
  'DATABASE_URL',
  'REDIS_URL',
  'PORTONE_API_SECRET',
  'IDENTITY_CI_KEYS',
  'IDENTITY_CI_HASH_KEY',
  // A Sentry DSN's user part is the project's ingest key; OTLP headers usually carry a token.
  'SENTRY_DSN',
  'OTEL_EXPORTER_OTLP_HEADERS',
])

const httpUrl = z
  .string()
  .trim()
  .refine((v) => /^https?:\/\/[^\s]+$/.test(v) && URL.canParse(v), 'an http(s) URL')
  .transform((v) => v.replace(/\/+$/, ''))

const int = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, `an integer from ${min} to ${max}`)
    .transform(Number)
    .pipe(
      z
        .number()
        .int()
        .min(min, `an integer from ${min} to ${max}`)
        .max(max, `an integer from ${min} to ${max}`),
    )

const optionalSecret = (minLength: number) =>
  z.string().min(minLength, `at least ${minLength} characters`).optional()

const origins = z
  .string()
  .transform((v) =>
    v
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean),
  )
  .pipe(
    z.array(
      z
        .string()
        .refine(
          (o) => o === '*' || /^https?:\/\/[^/\s]+$/.test(o),
          'comma-separated origins like https://app.example.com (scheme and host, no path)',
        ),
    ),
  )

const EnvSchema = z.object({
  PORT: int(1, 65535).default(8787),
  APP_ENV: z.enum(['development', 'staging', 'production']).default('development'),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  // Google Cloud project id: access-log lines name their trace as Cloud Logging links it.
  GOOGLE_CLOUD_PROJECT: z
    .string()
    .regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, 'a Google Cloud project id (6-30 of a-z, 0-9, -)')
    .optional(),
  FLAGS_FILE: z.string().min(1).default('flags.json'),
  SUPABASE_URL: httpUrl.optional(),
  LEGACY_FUNCTIONS_URL: httpUrl.optional(),
  SUPABASE_ANON_KEY: z.string().min(1).optional(),
  SUPABASE_SERVICE_ROLE_KEY: z.string().min(1).optional(),
  SUPABASE_JWT_SECRET: optionalSecret(32),
  SUPABASE_JWKS_URL: httpUrl.optional(),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'a postgres:// connection URL')
    .optional(),
  PGLITE_DIR: z.string().min(1).default('.data/pglite'),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'a redis:// or rediss:// URL')
    .optional(),
  UPSTASH_REDIS_REST_URL: httpUrl.optional(),
  UPSTASH_REDIS_REST_TOKEN: z.string().min(1).optional(),
  ALLOWED_ORIGINS: origins.default([]),
  TRUSTED_IP_HEADER: z
    .string()
    .regex(/^[a-z0-9-]+$/, 'a lower-case header name such as x-forwarded-for or cf-connecting-ip')
    .optional(),
  TOSS_SECRET_KEY: z
    .string()
    .regex(
      /^(test|live)_(g?sk)_[A-Za-z0-9_-]+$/,
      'a TossPayments secret key (test_sk… or live_sk…)',
    )
    .optional(),
  TOSS_API_URL: httpUrl.default('https://api.tosspayments.com'),
  ANTHROPIC_API_KEY: z.string().min(1).optional(),
  ANTHROPIC_BASE_URL: httpUrl.optional(),
  // Second opinion on AI suggestions by the cheaper model (off by default): its own time and
  // token budget; a timeout or error never holds back an answer the guard let through.
  AI_SECOND_OPINION: z.enum(['off', 'on']).default('off'),
  AI_SECOND_OPINION_TIMEOUT_MS: int(100, 10_000).default(1_500),
  AI_SECOND_OPINION_MAX_TOKENS: int(16, 1_000).default(64),
  /** Workers: where the statement font (Noto Sans KR TTF) is fetched from, once per isolate. */
  SETTLEMENT_FONT_URL: httpUrl.optional(),
  BFF_ADMIN_TOKEN: optionalSecret(24),
  BFF_CANARY_SECRET: optionalSecret(32),
  LEGACY_HEADERS_TIMEOUT_MS: int(100, 600_000).default(15_000),
  LEGACY_TOTAL_TIMEOUT_MS: int(100, 3_600_000).default(120_000),
  // Legacy pool bounds (issue 10): idle and whole life of an upstream socket, calls in flight
  // per function (default: a quarter of the 256 sockets).
  LEGACY_SOCKET_IDLE_MS: int(100, 600_000).default(4_000),
  LEGACY_SOCKET_MAX_AGE_MS: int(1_000, 3_600_000).default(60_000),
  LEGACY_MAX_PER_FUNCTION: int(1, 256).default(64),
  // One deadline for a request body to arrive whole, native or proxied (issue 10).
  BODY_TIMEOUT_MS: int(100, 3_600_000).default(15_000),
  REPLAY_BUFFER_BYTES: int(0, 64 * 1024 * 1024).default(1024 * 1024),
  PROXY_BODY_LIMIT_BYTES: int(0, 4 * 1024 * 1024 * 1024).default(64 * 1024 * 1024),
  SHUTDOWN_GRACE_MS: int(0, 60_000).default(9_000),
  RATE_LIMIT_TIMEOUT_MS: int(10, 10_000).default(300),
  FLAGS_REFRESH_MS: int(100, 600_000).default(5_000),
  // Funding completion (routes/funding): retry schedule of declined charges and the work pace.
  FUNDING_RETRY_DAYS: int(0, 30).default(4),
  FUNDING_RETRY_AT_KST: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a KST time HH:MM')
    .default('17:00'),
  FUNDING_HOLIDAYS: z
    .string()
    .regex(/^(\d{4}-\d{2}-\d{2}(,\s*\d{4}-\d{2}-\d{2})*)?$/, 'comma-separated YYYY-MM-DD dates')
    .default(''),
  FUNDING_CHARGE_CONCURRENCY: int(1, 1000).default(16),
  FUNDING_BATCH_SIZE: int(1, 1000).default(100),
  FUNDING_LEASE_SECONDS: int(10, 3600).default(120),
  FUNDING_RUN_BUDGET_MS: int(100, 600_000).default(20_000),
  FLAGS_STORE_KEY: z
    .string()
    .regex(/^[A-Za-z0-9:_-]{1,128}$/, 'a Redis key such as bff:flags')
    .default('bff:flags'),
  // Scheduled jobs (routes/jobs): Cloud Scheduler's OIDC token.
  SCHEDULER_AUTH: z.enum(['oidc', 'iam']).default('oidc'),
  SCHEDULER_AUDIENCE: z
    .string()
    .trim()
    .refine((v) => /^https:\/\/[^\s]+$/.test(v) && URL.canParse(v), 'an https URL')
    .optional(),
  SCHEDULER_SERVICE_ACCOUNT: z
    .string()
    .trim()
    .regex(/^[^\s@]+@[^\s@]+\.[a-z]{2,}$/i, 'a service-account email')
    .optional(),
  GOOGLE_OIDC_JWKS_URL: httpUrl.default('https://www.googleapis.com/oauth2/v3/certs'),
  // Identity verification (routes/identity): PortOne V2 and the CI keys.
  PORTONE_API_SECRET: z.string().min(1).optional(),
  PORTONE_STORE_ID: z
    .string()
    .regex(/^store-[A-Za-z0-9-]{1,64}$/, 'a PortOne store id (store-…)')
    .optional(),
  PORTONE_API_URL: httpUrl.default('https://api.portone.io'),
  /** `keyId:base64 32 bytes` entries, comma-separated; the first encrypts, all decrypt. */
  IDENTITY_CI_KEYS: z
    .string()
    .regex(
      /^[a-z0-9-]{1,16}:[A-Za-z0-9+/]{43}=(,[a-z0-9-]{1,16}:[A-Za-z0-9+/]{43}=)*$/,
      'keyId:base64-of-32-bytes entries, comma-separated (current key first)',
    )
    .optional(),
  IDENTITY_CI_HASH_KEY: optionalSecret(32),
  IDENTITY_MAX_AGE_SECONDS: int(60, 86_400).default(1800),
  // Error reporting (off unless set): unexpected errors go to Sentry, scrubbed of personal data.
  SENTRY_DSN: z
    .string()
    .trim()
    .refine(
      (v) =>
        /^https?:\/\/[^\s/@:]+(:[^\s/@]*)?@[^\s/@]+(\/[^\s]*)?\/\d+$/.test(v) && URL.canParse(v),
      'a Sentry DSN (https://<key>@<host>/<project id>)',
    )
    .optional(),
  SENTRY_RELEASE: z
    .string()
    .regex(/^[\w.@+-]{1,200}$/, 'a release name such as bff-gateway@1.2.3 (no spaces or slashes)')
    .optional(),
  // OpenTelemetry trace export over OTLP/HTTP (off unless set); names as the OTel SDKs read them.
  OTEL_EXPORTER_OTLP_ENDPOINT: httpUrl.optional(),
  OTEL_EXPORTER_OTLP_HEADERS: z
    .string()
    .regex(
      /^[^\s=,]+=[^,]*(,[^\s=,]+=[^,]*)*$/,
      'comma-separated name=value pairs (e.g. authorization=Bearer%20token)',
    )
    .optional(),
  OTEL_SERVICE_NAME: z
    .string()
    .regex(/^[\w.-]{1,100}$/, 'a service name such as bff-gateway')
    .default('bff-gateway'),
  /** Share of new traces exported, 0 to 1; a continued traceparent keeps its caller's choice. */
  OTEL_TRACES_SAMPLER_ARG: z
    .string()
    .trim()
    .regex(/^(0(\.\d+)?|1(\.0+)?)$/, 'a ratio from 0 to 1 such as 0.25')
    .transform(Number)
    .default(1),
})

export type Env = z.input<typeof EnvSchema>
type ParsedEnv = z.output<typeof EnvSchema>

export interface Config extends ParsedEnv {
  legacyFunctionsUrl: string
  jwksUrl: string | undefined
  jwtIssuer: string | undefined
  isProduction: boolean
  isDevelopment: boolean
}

export class ConfigError extends AppError {
  constructor(
    readonly variable: string,
    readonly expected: string,
  ) {
    super(`config error: ${variable} must be ${expected}`)
    this.name = 'ConfigError'
  }
}

/** Local Supabase (`supabase start`) serves functions here; the development default. */
const LOCAL_FUNCTIONS_URL = 'http://127.0.0.1:54321/functions/v1'

/**
 * Parse the environment. Empty strings count as unset (Cloud Run and wrangler both produce them).
 * @throws ConfigError naming the first bad variable.
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const present: Record<string, string> = {}
  for (const key of Object.keys(EnvSchema.shape)) {
    const value = env[key]
    if (value !== undefined && value !== '') present[key] = value
  }
  const parsed = EnvSchema.safeParse(present)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const variable = String(issue?.path[0] ?? 'environment')
    const shown =
      SECRET_VARS.has(variable) || present[variable] === undefined
        ? ''
        : ` (got ${JSON.stringify(present[variable]?.slice(0, 60))})`
    throw new ConfigError(variable, `${describeIssue(issue)}${shown}`)
  }
  const e = parsed.data
  const isProduction = e.APP_ENV === 'production'
  const legacyFunctionsUrl =
    e.LEGACY_FUNCTIONS_URL ??
    (e.SUPABASE_URL ? `${e.SUPABASE_URL}/functions/v1` : undefined) ??
    (e.APP_ENV === 'development' ? LOCAL_FUNCTIONS_URL : undefined)
  if (!legacyFunctionsUrl) {
    throw new ConfigError('LEGACY_FUNCTIONS_URL', 'set (or SUPABASE_URL) outside development')
  }
  if (e.APP_ENV !== 'development' && !e.BFF_CANARY_SECRET) {
    throw new ConfigError('BFF_CANARY_SECRET', 'set outside development (at least 32 characters)')
  }
  if (Boolean(e.UPSTASH_REDIS_REST_URL) !== Boolean(e.UPSTASH_REDIS_REST_TOKEN)) {
    const missing = e.UPSTASH_REDIS_REST_URL ? 'UPSTASH_REDIS_REST_TOKEN' : 'UPSTASH_REDIS_REST_URL'
    throw new ConfigError(missing, 'set together with its Upstash counterpart')
  }
  if (e.ALLOWED_ORIGINS.includes('*') && isProduction) {
    throw new ConfigError('ALLOWED_ORIGINS', 'an explicit list in production (no *)')
  }
  if (e.ALLOWED_ORIGINS.length === 0 && isProduction) {
    throw new ConfigError('ALLOWED_ORIGINS', 'set in production (the app origins, comma-separated)')
  }
  if (e.BFF_ADMIN_TOKEN && !highEntropy(e.BFF_ADMIN_TOKEN)) {
    throw new ConfigError(
      'BFF_ADMIN_TOKEN',
      'a random value, not a repeated pattern (e.g. openssl rand -hex 32)',
    )
  }
  refuseSharedSecrets(e)
  return {
    ...e,
    legacyFunctionsUrl,
    jwksUrl:
      e.SUPABASE_JWKS_URL ??
      (e.SUPABASE_URL ? `${e.SUPABASE_URL}/auth/v1/.well-known/jwks.json` : undefined),
    jwtIssuer: e.SUPABASE_URL ? `${e.SUPABASE_URL}/auth/v1` : undefined,
    isProduction,
    isDevelopment: e.APP_ENV === 'development',
  }
}

/**
 * Whether `value` looks random: at least 8 distinct characters, an empirical (Shannon) entropy
 * of 2.5 bits per character and 64 bits in all, and not one shorter unit repeated. `aaaa…` and
 * `abcabc…` fail; `openssl rand -hex 12` (and longer) and base64 output pass.
 */
function highEntropy(value: string): boolean {
  const counts = new Map<string, number>()
  for (const ch of value) counts.set(ch, (counts.get(ch) ?? 0) + 1)
  let bits = 0
  for (const n of counts.values()) {
    const p = n / value.length
    bits -= p * Math.log2(p)
  }
  const periodic = (value + value).indexOf(value, 1) < value.length
  return counts.size >= 8 && bits >= 2.5 && bits * value.length >= 64 && !periodic
}

/** The canary, JWT and admin secrets guard different things: one leak must not open all. */
function refuseSharedSecrets(e: ParsedEnv): void {
  const secrets = [
    ['BFF_CANARY_SECRET', e.BFF_CANARY_SECRET],
    ['SUPABASE_JWT_SECRET', e.SUPABASE_JWT_SECRET],
    ['BFF_ADMIN_TOKEN', e.BFF_ADMIN_TOKEN],
  ] as const
  for (let i = 0; i < secrets.length; i++) {
    for (let j = i + 1; j < secrets.length; j++) {
      const [name, value] = secrets[j] as (typeof secrets)[number]
      if (value !== undefined && value === secrets[i]?.[1])
        throw new ConfigError(name, `different from ${secrets[i]?.[0]} (one value per secret)`)
    }
  }
}

function describeIssue(issue: z.core.$ZodIssue | undefined): string {
  if (!issue) return 'valid'
  if (issue.code === 'invalid_value') return `one of ${issue.values.map(String).join(', ')}`
  if (issue.code === 'invalid_type') return 'set'
  return issue.message
}
