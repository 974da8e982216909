import type { NativeHandler } from '../src/types.js'

/**
 * Native handlers by route id. Each module under `routes/` implements one function of the
 * plan; a route without an entry here is always proxied to legacy.
 */
export type NativeServices = {}

export function nativeHandlers(_services: NativeServices): Record<string, NativeHandler> {
  return {}
}
