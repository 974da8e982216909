import { Redis } from 'ioredis'
import { type FleetStatsStore, type SlotKey, TTL_SECONDS } from '../fleet-stats.js'

export interface RedisFleetStoreOptions {
  url: string
  /** Prefix of every counter key; one per deployment (staging and production apart). */
  prefix?: string
  timeoutMs?: number
  onError?: (error: Error) => void
}

const keyOf = (prefix: string, s: SlotKey) => `${prefix}:${s.resolution}:${s.route}:${s.period}`

/**
 * Fleet counters in Redis (Node): one hash per route and period, written with HINCRBY in one
 * pipeline per flush, read with HGETALL in one pipeline.
 */
export function redisFleetStore({
  url,
  prefix = 'bff:fleet',
  timeoutMs = 1_000,
  onError = () => {},
}: RedisFleetStoreOptions): FleetStatsStore {
  const redis = new Redis(url, {
    enableOfflineQueue: true,
    maxRetriesPerRequest: 1,
    commandTimeout: timeoutMs,
    connectTimeout: timeoutMs,
    retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
  })
  redis.on('error', onError)
  return {
    kind: 'redis',
    async add(increments) {
      const pipeline = redis.pipeline()
      for (const { slot, fields } of increments) {
        const key = keyOf(prefix, slot)
        for (const [field, n] of Object.entries(fields)) pipeline.hincrby(key, field, n)
        pipeline.expire(key, TTL_SECONDS[slot.resolution])
      }
      const results = (await pipeline.exec()) ?? []
      const failed = results.find(([error]) => error)
      if (failed) throw failed[0]
    },
    async read(slots) {
      if (slots.length === 0) return []
      const pipeline = redis.pipeline()
      for (const slot of slots) pipeline.hgetall(keyOf(prefix, slot))
      const results = (await pipeline.exec()) ?? []
      return results.map(([error, value]) => {
        if (error) throw error
        const out: Record<string, number> = {}
        for (const [k, v] of Object.entries((value ?? {}) as Record<string, string>))
          out[k] = Number(v)
        return out
      })
    },
    async putNote(name, field, json) {
      await redis.hset(`${prefix}:note:${name}`, { [field]: json })
    },
    async notes(name) {
      const value = (await redis.hgetall(`${prefix}:note:${name}`)) as Record<
        string,
        unknown
      > | null
      const out: Record<string, string> = {}
      for (const [k, v] of Object.entries(value ?? {}))
        out[k] = typeof v === 'string' ? v : JSON.stringify(v)
      return out
    },
    async close() {
      redis.disconnect()
    },
  }
}
