import type { Db } from '../platform/db/port.js'

/**
 * The flag audit trail: every change of a route's percentage, by whom, from where and why.
 * Append-only in the database (`supabase/migrations/0003_flag_audit.sql`): the table refuses
 * updates and deletes, and the gateway can only call the two functions below.
 */

export type AuditSource = 'api' | 'cli' | 'dashboard' | 'auto-rollback'

export const AUDIT_SOURCES: readonly AuditSource[] = ['api', 'cli', 'dashboard', 'auto-rollback']

export interface NewAuditEntry {
  actor: string
  routeId: string
  /** Percentages before and after (an auto-rollback records its effect: from → 0 and back). */
  from: number
  to: number
  reason: string
  source: AuditSource
  /** Version of the flag table the change produced (or was in force for a rollback). */
  version: string
  requestId?: string
}

export interface AuditEntry extends NewAuditEntry {
  id: number
  /** ISO 8601 time set by the database. */
  at: string
}

export interface AuditQuery {
  routeId?: string
  /** Newest first; at most 500. */
  limit?: number
  /** Entries with a smaller id only (paging). */
  before?: number
}

export interface AuditTrail {
  append(entry: NewAuditEntry): Promise<AuditEntry>
  list(query?: AuditQuery): Promise<AuditEntry[]>
}

interface AuditRow {
  id: number | string
  at: string
  actor: string
  route_id: string
  from_percent: number | string
  to_percent: number | string
  reason: string
  source: AuditSource
  version: string
  request_id: string | null
}

const toEntry = (row: AuditRow): AuditEntry => ({
  id: Number(row.id),
  at: new Date(row.at).toISOString(),
  actor: row.actor,
  routeId: row.route_id,
  from: Number(row.from_percent),
  to: Number(row.to_percent),
  reason: row.reason,
  source: row.source,
  version: row.version,
  ...(row.request_id ? { requestId: row.request_id } : {}),
})

/** The audit trail through the database port (PGlite, node-postgres or supabase-js rpc). */
export function dbAuditTrail(db: Pick<Db, 'call'>): AuditTrail {
  return {
    async append(entry) {
      const row = await db.call<AuditRow>('flag_audit_append', {
        p_actor: entry.actor,
        p_route_id: entry.routeId,
        p_from_percent: entry.from,
        p_to_percent: entry.to,
        p_reason: entry.reason,
        p_source: entry.source,
        p_version: entry.version,
        p_request_id: entry.requestId ?? null,
      })
      return toEntry(row)
    },
    async list({ routeId, limit = 50, before } = {}) {
      const rows = await db.call<AuditRow[] | null>('flag_audit_list', {
        p_route_id: routeId ?? null,
        p_limit: Math.min(Math.max(limit, 1), 500),
        p_before: before ?? null,
      })
      return (rows ?? []).map(toEntry)
    },
  }
}

/**
 * The trail in this process only: tests, and a Worker in development with no Supabase
 * configured. Production refuses it (`rolloutAudit` in the wiring helpers).
 */
export function memoryAuditTrail(clock: () => number = Date.now): AuditTrail {
  const entries: AuditEntry[] = []
  return {
    async append(entry) {
      const stored: AuditEntry = {
        ...entry,
        id: entries.length + 1,
        at: new Date(clock()).toISOString(),
      }
      entries.push(stored)
      return stored
    },
    async list({ routeId, limit = 50, before } = {}) {
      return entries
        .filter(
          (e) =>
            (routeId === undefined || e.routeId === routeId) &&
            (before === undefined || e.id < before),
        )
        .reverse()
        .slice(0, Math.min(Math.max(limit, 1), 500))
    },
  }
}
