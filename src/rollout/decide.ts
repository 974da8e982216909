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
 * Native or legacy for one request (DESIGN.md sections 4 and 5): flags give the default, a
 * canary override wins over them, and nothing sends a route without a native handler, or a
 * stay-legacy one, to native.
 */
export function decideBackend(input: DecisionInput): DecisionInfo {
  const flag = input.table.routes.get(input.routeId)
  const percent = flag?.percent ?? 0
  const bucket = flag ? bucketOf(flag.scope, input.subject.value) : undefined
  const base = { bucket, percent, subjectSource: input.subject.source }
  if (input.stayLegacy) return { ...base, backend: 'legacy', reason: 'stay-legacy' }
  if (!input.hasNative) return { ...base, backend: 'legacy', reason: 'no-native-handler' }
  if (input.override) return { ...base, backend: input.override, reason: 'override' }
  if (input.heldOnLegacy) return { ...base, backend: 'legacy', reason: input.heldOnLegacy }
  if (flag && bucket !== undefined && isNative(bucket, flag.basisPoints)) {
    return { ...base, backend: 'native', reason: 'flag' }
  }
  return { ...base, backend: 'legacy', reason: 'flag' }
}
