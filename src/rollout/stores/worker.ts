import type { Config } from '../../config.js'
import type { FleetStatsStore } from '../fleet-stats.js'
import { memoryStoreInDevelopment } from './memory.js'
import type { FlagStore } from './port.js'
import { upstashFlagStore } from './upstash.js'
import { upstashFleetStore } from './upstash-fleet.js'

type UpstashConfig = Pick<Config, 'UPSTASH_REDIS_REST_URL' | 'UPSTASH_REDIS_REST_TOKEN'>

/**
 * The Workers entry's flag store: Upstash over REST when configured, else in-memory in
 * development only (one isolate).
 * @throws ConfigError naming REDIS_URL when staging or production has no Upstash configured.
 */
export function workerFlagStore(
  config: UpstashConfig & Pick<Config, 'isDevelopment'>,
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

/**
 * The fleet counters beside a flag record `key`: in Upstash when configured, else none (the
 * counters stay in-process).
 */
export function upstashFleetFromConfig(
  config: UpstashConfig,
  { key = 'bff:flags' }: { key?: string } = {},
): FleetStatsStore | undefined {
  if (!config.UPSTASH_REDIS_REST_URL || !config.UPSTASH_REDIS_REST_TOKEN) return undefined
  return upstashFleetStore({
    url: config.UPSTASH_REDIS_REST_URL,
    token: config.UPSTASH_REDIS_REST_TOKEN,
    prefix: fleetPrefix(key),
  })
}

/** Where the fleet counters of the flag record `key` live. */
export const fleetPrefix = (key = 'bff:flags') => `${key}:fleet`
