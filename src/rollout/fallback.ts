/**
 * When a failed native attempt may be replayed to legacy (DESIGN.md section 5).
 */

export interface FallbackInput {
  method: string
  /** The request carried an `Idempotency-Key` header. */
  idempotencyKey: boolean
  routeReplaySafe: boolean
  /** The handler recorded an effect that must not happen twice. */
  sideEffect: boolean
  /** The handler failed because a dependency was unreachable, before doing anything. */
  dependencyUnavailable: boolean
  /** The body was buffered whole (it fits the replay buffer), or there is none. */
  bodyReplayable: boolean
  /** Status the native attempt produced (thrown errors count as 500). */
  status: number
}

export type FallbackVerdict =
  | { replay: true; reason: 'dependency-unavailable' | 'replay-safe' }
  | {
      replay: false
      reason:
        | 'client-error'
        | 'not-a-failure'
        | 'side-effect'
        | 'not-replay-safe'
        | 'body-not-buffered'
    }

export function fallbackVerdict(input: FallbackInput): FallbackVerdict {
  if (input.status < 500) {
    return { replay: false, reason: input.status >= 400 ? 'client-error' : 'not-a-failure' }
  }
  if (!input.bodyReplayable) return { replay: false, reason: 'body-not-buffered' }
  const replaySafe =
    input.method === 'GET' ||
    input.method === 'HEAD' ||
    input.idempotencyKey ||
    input.routeReplaySafe
  if (replaySafe) return { replay: true, reason: 'replay-safe' }
  if (input.sideEffect) return { replay: false, reason: 'side-effect' }
  if (input.dependencyUnavailable) return { replay: true, reason: 'dependency-unavailable' }
  return { replay: false, reason: 'not-replay-safe' }
}
