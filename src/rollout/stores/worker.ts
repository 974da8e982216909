import type { Config } from '../../config.js'
import { memoryStoreInDevelopment } from './memory.js'
import type { FlagStore } from './port.js'
import { upstashFlagStore } from './upstash.js'

/**
 * The Workers entry's flag store: Upstash over REST when configured, else in-memory in
 * development only (one isolate).
 * @throws ConfigError naming REDIS_URL when staging or production has no Upstash configured.
 */
export function workerFlagStore(
  config: Pick<Config, 'UPSTASH_REDIS_REST_URL' | 'UPSTASH_REDIS_REST_TOKEN' | 'isDevelopment'>,
  { key }: { key?: string } = {},
): FlagStore {
  if (config.UPSTASH_REDIS_REST_URL && config.UPSTASH_REDIS_REST_TOKEN) {
    return upstashFlagStore({
      url: config.UPSTASH_REDIS_REST_URL,
      token: config.UPSTASH_REDIS_REST_TOKEN,
      key,
    })
  }
  return memoryStoreInDevelopment(config)
}
