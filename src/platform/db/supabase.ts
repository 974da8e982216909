import { PostgrestClient } from '@supabase/postgrest-js'
import { AppError } from '../../errors.js'
import { parseFunctionError } from './errors.js'
import { type Db, DbFunctionError, DbUnavailableError } from './port.js'

export interface SupabaseDbOptions {
  url: string
  serviceRoleKey: string
  /** Per-call deadline; PostgREST itself has none for the client. */
  timeoutMs?: number
  /** For tests and custom transports; the global fetch by default. */
  fetch?: typeof fetch
}

/** PostgREST's codes for "cannot reach or use the database" (docs.postgrest.org, errors). */
const POSTGREST_UNAVAILABLE = new Set(['PGRST000', 'PGRST001', 'PGRST002', 'PGRST003'])

/** An error PostgREST or PostgreSQL reported that is neither unavailability nor a function's own code. */
export class SupabaseRpcError extends AppError {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message)
    this.name = 'SupabaseRpcError'
  }
}

/**
 * The port over supabase-js's `rpc()`: `POST /rest/v1/rpc/<fn>` with the arguments as a JSON
 * object, authenticated as service_role. It uses `PostgrestClient` from
 * `@supabase/postgrest-js`, the client `supabase.rpc()` delegates to, with the headers
 * supabase-js adds (`apikey`, `Authorization`), so the request is the one supabase-js sends.
 * The rest of supabase-js is left out: it needs a WebSocket on Node 20 for Realtime, and its
 * optional OpenTelemetry hook is a dynamic `import()` that workerd (and `wrangler dev`) refuse.
 * The only adapter that runs on Workers, so this file imports nothing Node-specific; import it
 * directly rather than through `./index.js`.
 */
export function createSupabaseDb({
  url,
  serviceRoleKey,
  timeoutMs = 10_000,
  fetch: fetchImpl,
}: SupabaseDbOptions): Db & { client: PostgrestClient } {
  const client = new PostgrestClient(`${url.replace(/\/+$/, '')}/rest/v1`, {
    headers: {
      apikey: serviceRoleKey,
      Authorization: `Bearer ${serviceRoleKey}`,
      'X-Client-Info': 'bff-gateway postgrest-js',
    },
    ...(fetchImpl ? { fetch: fetchImpl } : {}),
  })

  const call = async <T>(fn: string, args: Record<string, unknown>): Promise<T> => {
    const { data, error, status } = await client
      .rpc(fn, args)
      .abortSignal(AbortSignal.timeout(timeoutMs))
    if (!error) return data as T
    if (error.code === 'P0001') {
      const mapped = parseFunctionError(error.message)
      throw new DbFunctionError(mapped.code, mapped.detail, { cause: error })
    }
    // supabase-js reports network failures and aborts as status 0 instead of throwing; a 502-504
    // comes from the proxy in front of PostgREST, with no PostgREST code.
    if (
      status === 0 ||
      status >= 502 ||
      POSTGREST_UNAVAILABLE.has(error.code) ||
      (status >= 500 && !error.code)
    ) {
      throw new DbUnavailableError(`database unavailable via PostgREST (${status || 'network'})`, {
        cause: error,
      })
    }
    throw new SupabaseRpcError(error.code || 'unknown', error.message, status)
  }

  return {
    kind: 'supabase',
    client,
    call,
    async ping() {
      try {
        // Cheap, service_role-only, and proves the migrations are there.
        return (await call<number>('payment_status_rank', { p_status: 'DONE' })) === 3
      } catch {
        return false
      }
    },
    async close() {},
  }
}
