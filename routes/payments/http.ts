import type { z } from 'zod'
import {
  badRequest,
  fieldProblemsFromZod,
  GatewayError,
  validationFailed,
} from '../../src/errors.js'
import type { AppContext, Identity } from '../../src/types.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** The JSON body, or a 400 naming the body when it is missing or not JSON. */
export async function readJsonBody(c: AppContext): Promise<unknown> {
  try {
    return await c.req.json()
  } catch {
    throw badRequest('The body must be a JSON object', [
      { field: '(body)', message: 'not valid JSON' },
    ])
  }
}

/** Validate with zod; every bad field is listed (422). */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const result = schema.safeParse(body)
  if (!result.success) throw validationFailed(fieldProblemsFromZod(result.error.issues))
  return result.data
}

/** `Idempotency-Key` (IETF draft-ietf-httpapi-idempotency-key-header), at most 300 printable characters like Toss's. */
export function readIdempotencyKey(c: AppContext): string | undefined {
  const value = c.req.header('idempotency-key')
  if (value === undefined) return undefined
  if (!/^[\x20-\x7e]{1,300}$/.test(value) || value.trim() === '') {
    throw validationFailed([
      { field: 'header:idempotency-key', message: '1-300 printable ASCII characters' },
    ])
  }
  return value
}

/** The caller's Supabase user id (a UUID `sub`). The gateway has already required a user. */
export function requireUserId(c: AppContext): string {
  const subject = c.var.identity?.subject
  if (!subject || !UUID.test(subject)) {
    throw new GatewayError({
      status: 403,
      code: 'user-required',
      title: 'A signed-in user is required',
      detail: 'The token has no Supabase user id (sub)',
    })
  }
  return subject.toLowerCase()
}

/** The caller's user id when it is one, else undefined (service-role calls have no user). */
export function optionalUserId(c: AppContext): string | undefined {
  const subject = c.var.identity?.subject
  return subject && UUID.test(subject) ? subject.toLowerCase() : undefined
}

/** Ops: the service role, or a user whose `app_metadata.role` is `ops` (set only server-side). */
export function isOps(identity: Identity | undefined): boolean {
  // A merely decoded token (no verifier configured) never grants ops.
  if (!identity?.verified) return false
  if (identity.role === 'service_role') return true
  const appMetadata = identity.claims.app_metadata as { role?: unknown } | undefined
  return appMetadata?.role === 'ops'
}
