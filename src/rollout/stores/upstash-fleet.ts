import { Redis } from '@upstash/redis/cloudflare'
import { type FleetStatsStore, type SlotKey, TTL_SECONDS } from '../fleet-stats.js'

const keyOf = (prefix: string, s: SlotKey) => `${prefix}:${s.resolution}:${s.route}:${s.period}`

/** Fleet counters in Upstash Redis over REST (Workers): the same keys as the ioredis store. */
export function upstashFleetStore({
  url,
  token,
  prefix = 'bff:fleet',
  timeoutMs = 2_000,
}: {
  url: string
  token: string
  prefix?: string
  timeoutMs?: number
}): FleetStatsStore {
  const redis = new Redis({
    url,
    token,
    automaticDeserialization: false,
    retry: false,
    signal: () => AbortSignal.timeout(timeoutMs),
  })
  return {
    kind: 'upstash',
    async add(increments) {
      if (increments.length === 0) return
      const pipeline = redis.pipeline()
      for (const { slot, fields } of increments) {
        const key = keyOf(prefix, slot)
        for (const [field, n] of Object.entries(fields)) pipeline.hincrby(key, field, n)
        pipeline.expire(key, TTL_SECONDS[slot.resolution])
      }
      await pipeline.exec()
    },
    async read(slots) {
      if (slots.length === 0) return []
      const pipeline = redis.pipeline()
      for (const slot of slots) pipeline.hgetall(keyOf(prefix, slot))
      const results = (await pipeline.exec()) as (Record<string, unknown> | null)[]
      return results.map((value) => {
        const out: Record<string, number> = {}
        for (const [k, v] of Object.entries(value ?? {})) out[k] = Number(v)
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
    async close() {},
  }
}
