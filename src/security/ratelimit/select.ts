import { type Config, ConfigError } from '../../config.js'
import { createRateLimiter, type EvalRedis } from './limiter.js'

export interface RateLimiterFromConfigOptions {
  /**
   * Builds the Redis client for `REDIS_URL`. Injected by the Node entry (`createIoredisAdapter`)
   * so the Workers bundle never includes ioredis; Workers use Upstash REST.
   */
  connectRedis?: (url: string) => EvalRedis
  prefix?: string
}

type LimiterConfig = Pick<
  Config,
  'REDIS_URL' | 'UPSTASH_REDIS_REST_URL' | 'UPSTASH_REDIS_REST_TOKEN' | 'RATE_LIMIT_TIMEOUT_MS'
> & { isDevelopment: boolean; APP_ENV: string }

/**
 * The rate limiter the configuration asks for: `REDIS_URL` (Node) → Redis; Upstash REST
 * variables → Upstash; neither → in-memory, which only development accepts: each instance
 * would count alone.
 * @throws ConfigError naming the variable.
 */
export function rateLimiterFromConfig(
  config: LimiterConfig,
  { connectRedis, prefix = `bff:${config.APP_ENV}:rl` }: RateLimiterFromConfigOptions = {},
) {
  const timeoutMs = config.RATE_LIMIT_TIMEOUT_MS
  if (config.REDIS_URL && connectRedis) {
    return createRateLimiter({
      store: 'redis',
      redis: connectRedis(config.REDIS_URL),
      timeoutMs,
      prefix,
    })
  }
  if (config.UPSTASH_REDIS_REST_URL && config.UPSTASH_REDIS_REST_TOKEN) {
    return createRateLimiter({
      store: 'upstash',
      upstashUrl: config.UPSTASH_REDIS_REST_URL,
      upstashToken: config.UPSTASH_REDIS_REST_TOKEN,
      timeoutMs,
      prefix,
    })
  }
  if (config.REDIS_URL) {
    throw new ConfigError(
      'REDIS_URL',
      'used by the Node entry only; on Workers set UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN',
    )
  }
  if (!config.isDevelopment) {
    throw new ConfigError(
      'REDIS_URL',
      'set (or UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN) outside development: an in-memory rate limiter counts per instance',
    )
  }
  return createRateLimiter({ store: 'memory', timeoutMs, prefix })
}
