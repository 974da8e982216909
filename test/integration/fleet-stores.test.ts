import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { SlotKey } from '../../src/rollout/fleet-stats.js'
import { redisFleetStore } from '../../src/rollout/stores/redis-fleet.js'
import { upstashFleetStore } from '../../src/rollout/stores/upstash-fleet.js'
import { startUpstashRest } from '../fakes/upstash-rest.js'
import { REDIS_URL } from './flags-helper.js'

describe('fleet counter stores', () => {
  it('the Upstash store (Workers) and the ioredis store (Node) count into the same keys', async () => {
    const fake = await startUpstashRest({ redisUrl: REDIS_URL })
    const prefix = `bff:test-fleet:${randomBytes(6).toString('hex')}`
    const upstash = upstashFleetStore({ url: fake.url, token: fake.token, prefix })
    const redis = redisFleetStore({ url: REDIS_URL, prefix })
    try {
      const slot: SlotKey = { route: 'payout-statement', resolution: 'm', period: 29_000_000 }
      const other: SlotKey = { ...slot, route: 'settlement-export' }
      await upstash.add([{ slot, fields: { 'native:requests': 3, 'native:errors': 1 } }])
      await redis.add([{ slot, fields: { 'native:requests': 2 } }])

      const expected = [{ 'native:requests': 5, 'native:errors': 1 }, {}]
      expect(await upstash.read([slot, other])).toEqual(expected)
      expect(await redis.read([slot, other])).toEqual(expected)

      await redis.putNote('parity', 'payout-statement', '{"ok":true}')
      await upstash.putNote('parity', 'settlement-export', '{"ok":false}')
      const notes = { 'payout-statement': '{"ok":true}', 'settlement-export': '{"ok":false}' }
      expect(await upstash.notes('parity')).toEqual(notes)
      expect(await redis.notes('parity')).toEqual(notes)
      expect(fake.requests.length).toBeGreaterThan(0)
    } finally {
      await upstash.close()
      await redis.close()
      await fake.close()
    }
  })
})
