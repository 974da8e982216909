import type { Config } from '../../config.js'
import { memoryStoreOutsideProduction } from './memory.js'
import type { FlagStore } from './port.js'
import { upstashFlagStore } from './upstash.js'

/**
 * The Workers entry's flag store: Upstash over REST when configured, else in-memory outside
 * production (one isolate only).
 * @throws ConfigError naming REDIS_URL when production has no Upstash configured.
 */
export function workerFlagStore(
  config: Pick<Config, 'UPSTASH_REDIS_REST_URL' | 'UPSTASH_REDIS_REST_TOKEN' | 'isProduction'>,
  { key }: { key?: string } = {},
): FlagStore {
  if (config.UPSTASH_REDIS_REST_URL && config.UPSTASH_REDIS_REST_TOKEN) {
    return upstashFlagStore({
      url: config.UPSTASH_REDIS_REST_URL,
      token: config.UPSTASH_REDIS_REST_TOKEN,
      key,
    })
  }
  return memoryStoreOutsideProduction(config)
}
