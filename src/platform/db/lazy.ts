import { type Db, DbUnavailableError } from './port.js'

/**
 * A `Db` usable at once while the real one starts (embedded PGlite takes a second or more to
 * boot and migrate): calls wait for it, `ping` is false until it is up, and a failed start
 * makes every call a `DbUnavailableError`, which native routes turn into a fallback or a 503.
 * The server can so answer `/health` without waiting for the database.
 */
export function lazyDb(starting: Promise<Db>, onError: (error: unknown) => void): Db {
  let ready: Db | undefined
  let failed: unknown
  const settled = starting.then(
    (db) => {
      ready = db
      return db
    },
    (error: unknown) => {
      failed = error
      onError(error)
      return undefined
    },
  )
  const get = async (): Promise<Db> => {
    const db = ready ?? (await settled)
    if (!db) throw new DbUnavailableError('the database failed to start', { cause: failed })
    return db
  }
  return {
    get kind() {
      return ready?.kind ?? 'starting'
    },
    async call<T>(fn: string, args: Record<string, unknown>): Promise<T> {
      return (await get()).call<T>(fn, args)
    },
    async ping() {
      return ready ? ready.ping() : false
    },
    async close() {
      const db = await settled
      await db?.close()
    },
  }
}
