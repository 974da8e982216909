import type { ProblemSet } from '../src/errors.js'
import type { ClientApp } from '../src/kit/client.js'
import { GATEWAY_PROBLEMS } from '../src/problems.js'
import { assembleRouteTable, type NativeServices } from '../src/route-table.js'
import type { NativeHandler } from '../src/types.js'
import { ai } from './ai/index.js'
import { funding } from './funding/index.js'
import { identity } from './identity/index.js'
import { jobs } from './jobs/index.js'
import { ops } from './ops/index.js'
import { payments } from './payments/index.js'
import { settlement } from './settlement/index.js'

export type { NativeServices } from '../src/route-table.js'

/**
 * The features, one folder each under `routes/`. Each exports its routes (the rows of the route
 * table) with their native handler factories; a new feature is one line here.
 */
export const FEATURES = [payments, ai, settlement, funding, identity, ops, jobs] as const

/** The route table, assembled from the features: the single source of truth for every function. */
export const ROUTE_TABLE = assembleRouteTable(FEATURES)
export const ROUTES = ROUTE_TABLE.routes
export const ROUTE_IDS = ROUTE_TABLE.ids

/**
 * Every problem the gateway answers with: its own (`src/problems.ts`) and each feature's
 * (`routes/<feature>/problems.ts`). A code has one status wherever it is declared.
 */
export const PROBLEM_SETS: readonly ProblemSet[] = [
  GATEWAY_PROBLEMS,
  ...FEATURES.flatMap((feature) => feature.problems),
]

/**
 * Native handlers by route id. A route whose feature's dependencies are not configured gets no
 * handler, so it is always proxied (and `flags.json` refuses `native > 0` for it at start).
 */
export function nativeHandlers(services: NativeServices): Record<string, NativeHandler> {
  return ROUTE_TABLE.nativeHandlers(services)
}

/**
 * The gateway's API as a Hono app type, for a typed client: `hc<AppType>(base)` from
 * `hono/client` (README, "Typed clients"). Built from the features' route declarations and the
 * zod schemas their native handlers validate with.
 */
export type AppType = ClientApp<typeof FEATURES>
