import { Redis } from 'ioredis'
import { COMPARE_AND_SET, PLACE_HOLD, RELEASE_HOLD, snapshotFromHash } from './hash.js'
import { type FlagStore, FlagStoreUnavailableError } from './port.js'

export interface RedisFlagStoreOptions {
  /** `redis://` or `rediss://` URL; ignored when `client` is given. */
  url?: string
  /** An existing connection to share (not closed by `close()`). */
  client?: Redis
  /** The hash holding the record; one per deployment (staging and production apart). */
  key?: string
  /** Longest wait for a connection or an answer before the call counts as unavailable. */
  timeoutMs?: number
  /** Told about connection errors (ioredis emits one per failed reconnect). */
  onError?: (error: Error) => void
}

/**
 * The overlay in a Redis server over ioredis (Node). Commands are not queued while the server
 * is unreachable: a refresh fails fast and the live table stays on its last good version.
 */
export function redisFlagStore({
  url,
  client,
  key = 'bff:flags',
  timeoutMs = 1_000,
  onError = () => {},
}: RedisFlagStoreOptions): FlagStore {
  if (!client && !url) throw new TypeError('redisFlagStore needs url or client')
  const owned = !client
  const redis =
    client ??
    new Redis(url as string, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: timeoutMs,
      connectTimeout: timeoutMs,
      // Keep trying for as long as the process lives; the live table serves meanwhile.
      retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
    })
  if (owned) redis.on('error', onError)

  async function ready(): Promise<void> {
    if (redis.status === 'ready') return
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        redis.off('ready', onReady)
        reject(new Error(`not connected within ${timeoutMs} ms (${redis.status})`))
      }, timeoutMs)
      const onReady = () => {
        clearTimeout(timer)
        resolve()
      }
      redis.once('ready', onReady)
    })
  }

  async function run<T>(command: () => Promise<T>): Promise<T> {
    try {
      await ready()
      return await command()
    } catch (error) {
      throw new FlagStoreUnavailableError('redis', { cause: error })
    }
  }

  const evalScript = (script: string, ...args: (string | number)[]) =>
    run(() => redis.eval(script, 1, key, ...args)).then((result) => result === 1)

  return {
    kind: 'redis',
    read: () => run(() => redis.hgetall(key)).then(snapshotFromHash),
    compareAndSet: (expected, overlay) => evalScript(COMPARE_AND_SET, expected, overlay),
    placeHold: (routeId, hold, until, now) => evalScript(PLACE_HOLD, routeId, hold, until, now),
    releaseHold: (routeId, hold) => evalScript(RELEASE_HOLD, routeId, hold),
    async close() {
      if (!owned) return
      await redis.quit().catch(() => redis.disconnect())
    },
  }
}
