import { type Config, ConfigError } from '../../config.js'
import type { FlagStore, StoreSnapshot } from './port.js'

/**
 * The overlay in this process only: development and tests. Two `LiveFlags` given the same
 * instance behave like two gateway instances sharing a server. Production refuses it
 * (`flagStoreFromConfig`), because a change would reach one instance only.
 */
export function memoryFlagStore(): FlagStore {
  let version = 0
  let overlay: string | undefined
  const holds = new Map<string, { hold: string; until: number }>()

  return {
    kind: 'memory',
    async read(): Promise<StoreSnapshot> {
      return {
        version,
        overlay,
        holds: Object.fromEntries([...holds].map(([id, h]) => [id, h.hold])),
      }
    },
    async compareAndSet(expected, next) {
      if (version !== expected) return false
      version += 1
      overlay = next
      return true
    },
    async placeHold(routeId, hold, until, now) {
      const existing = holds.get(routeId)
      if (existing && existing.until > now) return false
      holds.set(routeId, { hold, until })
      return true
    },
    async releaseHold(routeId, hold) {
      if (holds.get(routeId)?.hold !== hold) return false
      holds.delete(routeId)
      return true
    },
    async close() {},
  }
}

/**
 * The in-memory store, for development only: staging rehearses production, and a change would
 * reach one instance only.
 * @throws ConfigError naming REDIS_URL outside development.
 */
export function memoryStoreInDevelopment(config: Pick<Config, 'isDevelopment'>): FlagStore {
  if (!config.isDevelopment) {
    throw new ConfigError(
      'REDIS_URL',
      'set (or UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN) outside development: the flag store must be shared',
    )
  }
  return memoryFlagStore()
}
