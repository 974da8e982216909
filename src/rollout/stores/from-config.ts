import type { Config } from '../../config.js'
import { memoryStoreInDevelopment } from './memory.js'
import type { FlagStore } from './port.js'
import { redisFlagStore } from './redis.js'
import { upstashFlagStore } from './upstash.js'

export interface FlagStoreFromConfigOptions {
  /** Hash key of the record; set it apart per environment when they share a server. */
  key?: string
  onError?: (error: Error) => void
}

/**
 * The Node entry's flag store: `REDIS_URL` → Redis, else `UPSTASH_REDIS_REST_URL` + token →
 * Upstash, else in-memory, which only development accepts (a change would reach one instance only).
 * Workers use `workerFlagStore`, which keeps ioredis out of their bundle.
 * @throws ConfigError naming REDIS_URL when staging or production has no shared store.
 */
export function flagStoreFromConfig(
  config: Pick<
    Config,
    'REDIS_URL' | 'UPSTASH_REDIS_REST_URL' | 'UPSTASH_REDIS_REST_TOKEN' | 'isDevelopment'
  >,
  { key, onError }: FlagStoreFromConfigOptions = {},
): FlagStore {
  if (config.REDIS_URL) return redisFlagStore({ url: config.REDIS_URL, key, onError })
  if (config.UPSTASH_REDIS_REST_URL && config.UPSTASH_REDIS_REST_TOKEN) {
    return upstashFlagStore({
      url: config.UPSTASH_REDIS_REST_URL,
      token: config.UPSTASH_REDIS_REST_TOKEN,
      key,
    })
  }
  return memoryStoreInDevelopment(config)
}
