// The ioredis adapter is not re-exported: importing it pulls node:net into the Workers bundle.
// The Node entry imports it from './redis-adapter.js' directly.

export type { EvalRedis, RateLimiterOptions } from './limiter.js'
export { createRateLimiter, RateLimiterTimeoutError } from './limiter.js'
export type { RateLimiterFromConfigOptions } from './select.js'
export { rateLimiterFromConfig } from './select.js'
