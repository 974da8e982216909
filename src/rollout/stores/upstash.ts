import { Redis } from '@upstash/redis/cloudflare'
import { COMPARE_AND_SET, PLACE_HOLD, RELEASE_HOLD, snapshotFromHash } from './hash.js'
import { type FlagStore, FlagStoreUnavailableError } from './port.js'

export interface UpstashFlagStoreOptions {
  url: string
  token: string
  key?: string
  /** Per-request deadline; the REST client has none of its own. */
  timeoutMs?: number
}

/**
 * The overlay in Upstash Redis over its REST API (Workers; also usable on Node). The same hash
 * and Lua scripts as the ioredis store, so both runtimes can share one database.
 *
 * Workers KV is not offered: its writes take up to 60 s to reach other locations and it has no
 * compare-and-set, so neither the propagation bound nor stale-version refusal could hold.
 */
export function upstashFlagStore({
  url,
  token,
  key = 'bff:flags',
  timeoutMs = 2_000,
}: UpstashFlagStoreOptions): FlagStore {
  const redis = new Redis({
    url,
    token,
    // Values are JSON text that LiveFlags validates itself; never let the client decode them.
    automaticDeserialization: false,
    retry: false,
    signal: () => AbortSignal.timeout(timeoutMs),
  })

  async function run<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command()
    } catch (error) {
      throw new FlagStoreUnavailableError('upstash', { cause: error })
    }
  }

  const evalScript = (script: string, ...args: (string | number)[]) =>
    run(() => redis.eval<(string | number)[], number>(script, [key], args)).then(
      (result) => Number(result) === 1,
    )

  return {
    kind: 'upstash',
    read: () =>
      run(() => redis.hgetall<Record<string, unknown>>(key)).then((raw) =>
        snapshotFromHash(pairs(raw)),
      ),
    compareAndSet: (expected, overlay) => evalScript(COMPARE_AND_SET, expected, overlay),
    placeHold: (routeId, hold, until, now) => evalScript(PLACE_HOLD, routeId, hold, until, now),
    releaseHold: (routeId, hold) => evalScript(RELEASE_HOLD, routeId, hold),
    async close() {},
  }
}

/** Without automatic deserialization HGETALL comes back as the raw `[field, value, ...]` list. */
function pairs(raw: unknown): Record<string, unknown> | null {
  if (!Array.isArray(raw)) return raw as Record<string, unknown> | null
  const out: Record<string, unknown> = {}
  for (let i = 0; i + 1 < raw.length; i += 2) out[String(raw[i])] = raw[i + 1]
  return out
}
