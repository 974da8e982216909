import { createHash } from 'node:crypto'
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

// @upstash/ratelimit 2.2's scripts start with `#!lua flags=allow-key-locking`, a flag only
// Upstash knows: Redis 7 refuses it ("Unexpected flag in script shebang") and Redis 6 cannot
// parse a shebang at all. Without the line the script runs with classic EVAL semantics.
const SHEBANG = /^#!lua[^\n]*\n/

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex')

/**
 * The `EvalRedis` subset of a Redis client, over ioredis (Node), for a self-hosted Redis.
 *
 * The library calls EVALSHA with the hash of its script as written, and on a NOSCRIPT error
 * (its `safeEval` looks for that word) falls back to EVAL. Since we must load a different text
 * (without the Upstash shebang), the adapter remembers which hash it loaded for which library
 * hash: the first call per script is an EVAL, later ones are EVALSHA. A Redis restart empties
 * its script cache; the NOSCRIPT reply then leads to one EVAL again.
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
  const loaded = new Map<string, string>()
  return {
    client,
    async evalsha(sha, keys, args) {
      const ours = loaded.get(sha)
      if (!ours) throw new Error('NOSCRIPT the script is not loaded yet')
      return client.evalsha(ours, keys.length, ...keys, ...args.map(toArg))
    },
    async eval(script, keys, args) {
      const text = script.replace(SHEBANG, '')
      const result = await client.eval(text, keys.length, ...keys, ...args.map(toArg))
      loaded.set(sha1(script), sha1(text))
      return result
    },
    get: (key) => client.get(key),
    set: (key, value) => client.set(key, toArg(value)),
    async close() {
      if (!owned) return
      // QUIT waits for a reply a hung server never sends.
      if (client.status !== 'ready') return client.disconnect()
      await client.quit().catch(() => client.disconnect())
    },
  }
}
