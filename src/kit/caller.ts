import { gatewayProblem } from '../problems.js'
import type { AppContext, Identity } from '../types.js'

/** Who is calling a native route: the signed-in user, and whether they act as an operator. */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/**
 * The caller's Supabase user id (a UUID `sub`), lower case.
 * @throws GatewayError 403 `user-required` when the token names no user (a service-role call).
 */
export function requireUserId(
  c: AppContext,
  detail = 'The token has no Supabase user id (sub)',
): string {
  const subject = c.var.identity?.subject
  if (!subject || !UUID.test(subject)) {
    throw gatewayProblem('user-required', { detail })
  }
  return subject.toLowerCase()
}

/** The caller's user id when it is one, else undefined (service-role calls have no user). */
export function optionalUserId(c: AppContext): string | undefined {
  const subject = c.var.identity?.subject
  return subject && UUID.test(subject) ? subject.toLowerCase() : undefined
}

/**
 * The ops role: `app_metadata.role` is `ops`. Supabase lets only the service role write
 * `app_metadata` (`user_metadata` is the user's own and never counts).
 */
export function hasOpsRole(claims: Record<string, unknown>): boolean {
  const meta = claims.app_metadata
  return !!meta && typeof meta === 'object' && (meta as { role?: unknown }).role === 'ops'
}

/** An operator on a native route: the service role, or a verified user with the ops role. */
export function isOps(identity: Identity | undefined): boolean {
  // A merely decoded token (no verifier configured) never grants ops.
  if (!identity?.verified) return false
  return identity.role === 'service_role' || hasOpsRole(identity.claims)
}
