import { type Db, DbUnavailableError } from './port.js'

/**
 * A `Db` usable at once whose adapter starts on first use: embedded PGlite compiles and
 * migrates for seconds, on the event loop, and most development sessions never touch the
 * database. Calls and `ping` start it and wait for it (/ready bounds the wait); a
 * failed start makes every call a `DbUnavailableError` (native routes turn that into a fallback
 * or a 503) and the next call tries again. `close` closes only what was started.
 */
export function lazyDb(start: () => Promise<Db>, onError: (error: unknown) => void): Db {
  let ready: Db | undefined
  let starting: Promise<Db | undefined> | undefined
  let failure: unknown
  const begin = () => {
    starting ??= start().then(
      (db) => {
        ready = db
        return db
      },
      (error: unknown) => {
        failure = error
        starting = undefined
        onError(error)
        return undefined
      },
    )
    return starting
  }
  const get = async (): Promise<Db> => {
    const db = ready ?? (await begin())
    if (!db) throw new DbUnavailableError('the database failed to start', { cause: failure })
    return db
  }
  return {
    get kind() {
      return ready?.kind ?? 'not-started'
    },
    async call<T>(fn: string, args: Record<string, unknown>): Promise<T> {
      return (await get()).call<T>(fn, args)
    },
    async ping() {
      const db = ready ?? (await begin())
      return db ? db.ping() : false
    },
    async close() {
      const db = ready ?? (starting ? await starting : undefined)
      await db?.close()
    },
  }
}
