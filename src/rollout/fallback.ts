/**
 * When a failed native attempt may be replayed to legacy (README, "Fallback and breakers").
 *
 * The route table declares a replay policy per route; nothing about the request (method,
 * `Idempotency-Key`) widens it:
 * - `always`: the operation is idempotent end to end and shared with legacy, so replaying it
 *   after any native 5xx cannot do anything twice.
 * - `before-effect`: replay only while the handler has not marked an effect (`markEffect`, set
 *   before the first committing write or vendor call): the native attempt provably did nothing
 *   outside the process.
 * - `never`: a native failure is the answer.
 */

import type { ReplayPolicy } from '../types.js'

export type { ReplayPolicy } from '../types.js'

export const REPLAY_POLICIES: readonly ReplayPolicy[] = ['always', 'before-effect', 'never']

export interface FallbackInput {
  /** The route's declared policy; anything else counts as `never`. */
  replay: ReplayPolicy
  /** The handler marked an effect (`markEffect`) before failing. */
  sideEffect: boolean
  /** The body was buffered whole (it fits the replay buffer), or there is none. */
  bodyReplayable: boolean
  /** Status the native attempt produced (thrown errors count as 500). */
  status: number
}

export type FallbackVerdict =
  | { replay: true; reason: 'replay-always' | 'before-effect' }
  | {
      replay: false
      reason:
        | 'client-error'
        | 'not-a-failure'
        | 'side-effect'
        | 'policy-never'
        | 'body-not-buffered'
    }

export function fallbackVerdict(input: FallbackInput): FallbackVerdict {
  if (input.status < 500) {
    return { replay: false, reason: input.status >= 400 ? 'client-error' : 'not-a-failure' }
  }
  if (!input.bodyReplayable) return { replay: false, reason: 'body-not-buffered' }
  if (input.replay === 'always') return { replay: true, reason: 'replay-always' }
  if (input.replay === 'before-effect') {
    return input.sideEffect
      ? { replay: false, reason: 'side-effect' }
      : { replay: true, reason: 'before-effect' }
  }
  return { replay: false, reason: 'policy-never' }
}
