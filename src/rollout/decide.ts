import type { DecisionInfo } from '../types.js'
import { bucketOf, isNative } from './bucket.js'
import type { FlagTable } from './flags.js'

export interface Subject {
  value: string
  source: DecisionInfo['subjectSource']
}

export interface DecisionInput {
  routeId: string
  stayLegacy: boolean
  hasNative: boolean
  table: FlagTable
  subject: Subject
  /** A verified canary override (or development's free one). */
  override: 'native' | 'legacy' | undefined
  /** The native breaker or an auto-rollback holds the route on legacy. */
  heldOnLegacy: 'breaker-open' | 'rolled-back' | undefined
}

/**
 * Native or legacy for one request: flags give the default, a
 * canary override wins over them, and nothing sends a route without a native handler, or a
 * stay-legacy one, to native.
 */
export function decideBackend(input: DecisionInput): DecisionInfo {
  const flag = input.table.routes.get(input.routeId)
  const bucket = flag ? bucketOf(flag.scope, input.subject.value) : undefined
  let backend: DecisionInfo['backend'] = 'legacy'
  let reason: string
  if (input.stayLegacy) reason = 'stay-legacy'
  else if (!input.hasNative) reason = 'no-native-handler'
  else if (input.override) {
    backend = input.override
    reason = 'override'
  } else if (input.heldOnLegacy) reason = input.heldOnLegacy
  else {
    reason = 'flag'
    if (flag && bucket !== undefined && isNative(bucket, flag.basisPoints)) backend = 'native'
  }
  // One object literal of a fixed shape: this runs on every routed request.
  return {
    backend,
    reason,
    bucket,
    subjectSource: input.subject.source,
    percent: flag?.percent ?? 0,
  }
}
