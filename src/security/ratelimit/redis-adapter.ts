import { Redis, type RedisOptions } from 'ioredis'
import type { EvalRedis } from './limiter.js'

export interface IoredisAdapterOptions {
  /** ioredis rejects a command not answered in time, so stuck commands do not pile up. */
  commandTimeoutMs?: number
  connectTimeoutMs?: number
  /** Connection errors (ioredis emits them as events; unhandled they go to stderr). */
  onError?: (error: Error) => void
}

/** Arguments as Redis sees them; @upstash/redis serializes the same way (JSON for objects). */
function toArg(value: unknown): string {
  if (value === null || value === undefined) return ''
  return typeof value === 'object' ? JSON.stringify(value) : String(value)
}

/**
 * The `EvalRedis` subset of a Redis client, over ioredis (Node). A NOSCRIPT reply is an ioredis
 * `ReplyError` whose message starts with `NOSCRIPT`, which the library's `safeEval` recognises
 * to fall back to EVAL.
 *
 * Importing this module pulls in ioredis (node:net), so only the Node entry should.
 * @example
 * rateLimiterFromConfig(config, { connectRedis: (url) => createIoredisAdapter(url) })
 */
export function createIoredisAdapter(
  target: string | Redis,
  { commandTimeoutMs = 1_000, connectTimeoutMs = 2_000, onError }: IoredisAdapterOptions = {},
): EvalRedis & { client: Redis } {
  const options: RedisOptions = {
    commandTimeout: commandTimeoutMs,
    connectTimeout: connectTimeoutMs,
    // Fail queued commands after one reconnect attempt rather than the default 20.
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  }
  const owned = typeof target === 'string'
  const client = owned ? new Redis(target, options) : target
  if (owned) client.on('error', (error: Error) => onError?.(error))
  return {
    client,
    evalsha: (sha, keys, args) => client.evalsha(sha, keys.length, ...keys, ...args.map(toArg)),
    eval: (script, keys, args) => client.eval(script, keys.length, ...keys, ...args.map(toArg)),
    get: (key) => client.get(key),
    set: (key, value) => client.set(key, toArg(value)),
    async close() {
      if (!owned) return
      await client.quit().catch(() => client.disconnect())
    },
  }
}
