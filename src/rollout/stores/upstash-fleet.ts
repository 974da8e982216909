import { Redis } from '@upstash/redis/cloudflare'
import { countsOf, type FleetStatsStore, fleetKeys, notesOf, TTL_SECONDS } from '../fleet-stats.js'

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
        const key = fleetKeys.slot(prefix, slot)
        for (const [field, n] of Object.entries(fields)) pipeline.hincrby(key, field, n)
        pipeline.expire(key, TTL_SECONDS[slot.resolution])
      }
      await pipeline.exec()
    },
    async read(slots) {
      if (slots.length === 0) return []
      const pipeline = redis.pipeline()
      for (const slot of slots) pipeline.hgetall(fleetKeys.slot(prefix, slot))
      const results = (await pipeline.exec()) as unknown[]
      return results.map((value) => {
        return countsOf(value)
      })
    },
    async putNote(name, field, json) {
      await redis.hset(fleetKeys.note(prefix, name), { [field]: json })
    },
    async notes(name) {
      return notesOf(await redis.hgetall(fleetKeys.note(prefix, name)))
    },
    async close() {},
  }
}
