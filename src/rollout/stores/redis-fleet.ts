import { Redis } from 'ioredis'
import { countsOf, type FleetStatsStore, fleetKeys, notesOf, TTL_SECONDS } from '../fleet-stats.js'

export interface RedisFleetStoreOptions {
  url: string
  /** Prefix of every counter key; one per deployment (staging and production apart). */
  prefix?: string
  timeoutMs?: number
  onError?: (error: Error) => void
}

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
        const key = fleetKeys.slot(prefix, slot)
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
      for (const slot of slots) pipeline.hgetall(fleetKeys.slot(prefix, slot))
      const results = (await pipeline.exec()) ?? []
      return results.map(([error, value]) => {
        if (error) throw error
        return countsOf(value)
      })
    },
    async putNote(name, field, json) {
      await redis.hset(fleetKeys.note(prefix, name), { [field]: json })
    },
    async notes(name) {
      return notesOf(await redis.hgetall(fleetKeys.note(prefix, name)))
    },
    async close() {
      redis.disconnect()
    },
  }
}
