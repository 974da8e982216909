import type { Config } from '../../config.js'
import type { FlagStore } from './port.js'
import { redisFlagStore } from './redis.js'
import { workerFlagStore } from './worker.js'

export interface FlagStoreFromConfigOptions {
  /** Hash key of the record; set it apart per environment when they share a server. */
  key?: string
  onError?: (error: Error) => void
}

/**
 * The Node entry's flag store: `REDIS_URL` → Redis, else what Workers use (`workerFlagStore`:
 * Upstash when configured, else in-memory, which only development accepts: a change would reach
 * one instance only). Workers import `workerFlagStore` alone, which keeps ioredis out of their
 * bundle.
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
  return workerFlagStore(config, { key })
}
