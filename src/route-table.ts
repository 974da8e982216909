/**
 * The route table's vocabulary: what a route is (phase, paths, methods, policy), how a feature
 * declares its routes with their native handler factories (`defineFeature`), and how the entries
 * assemble the table from the features (`assembleRouteTable`).
 *
 * The rows themselves live with their code, in `routes/<feature>/index.ts`; `routes/index.ts`
 * lists the features. Each route names its phase, its paths (`/functions/v1/<id>` always, plus
 * the REST aliases of the plan), its methods and its policy slots. Any other `[a-z0-9_-]`
 * function name is proxied to legacy with `unknownRoute`'s policy.
 */
import type { Config } from './config.js'
import type { ProblemSet } from './errors.js'
import type { Logger } from './observability/log.js'
import type { Metrics } from './observability/metrics.js'
import type { Db } from './platform/db/port.js'
import { FUNCTION_NAME } from './platform/function-name.js'
import type {
  ApiOperation,
  NativeHandler,
  Phase,
  RateLimitPolicy,
  RouteDef,
  RoutePolicy,
} from './types.js'

export type {
  ApiHeader,
  ApiOperation,
  AuthPolicy,
  Phase,
  RateLimitPolicy,
  ReplayPolicy,
  RouteDef,
  RoutePolicy,
  SubjectKeyInput,
} from './types.js'

export const KiB = 1024
export const MiB = 1024 * KiB

const perMinute = (limit: number, failMode: RateLimitPolicy['failMode']): RateLimitPolicy => ({
  limit,
  windowSeconds: 60,
  failMode,
})

/** Per-minute limit for money and AI: the limiter failing must never let traffic through. */
export const closed = (limit: number) => perMinute(limit, 'closed')
/** Per-minute limit that lets traffic through (and logs it) when the limiter fails. */
export const open = (limit: number) => perMinute(limit, 'open')

/** Every route's policy, except the slots its definition overrides. */
export const basePolicy: RoutePolicy = {
  auth: 'required',
  rateLimit: open(120),
  bodyLimitBytes: 256 * KiB,
  // The safe default; every route states its own (`RouteSpec.policy.replay` is required).
  replay: 'never',
  strictOrigin: false,
  readOnly: false,
}

/**
 * Policy for function names the table does not list: proxied as is. Auth is `optional` because
 * the gateway cannot know what an unlisted function expects; the legacy function still checks.
 * No gateway rate limit: the function keeps its own, and a per-IP default would throttle
 * everyone behind one carrier NAT. A function that needs the gateway's limits gets a row in the
 * table.
 */
export function unknownRoute(id: string, bodyLimitBytes: number): RouteDef {
  return {
    id,
    phase: 'unknown',
    summary: 'Function not in the route table: proxied unchanged',
    aliases: [],
    methods: '*',
    policy: { ...basePolicy, auth: 'optional', rateLimit: null, bodyLimitBytes },
    stayLegacy: false,
    feature: '',
  }
}

/** What native handlers are built from; each entry builds it from its environment. */
export interface NativeServices {
  config: Config
  logger: Logger
  metrics: Metrics
  /** Absent when no database is configured for this runtime: the routes needing one stay legacy. */
  db: Db | undefined
  /** Test seams: a vendor's fetch, by vendor name (`toss`, `anthropic`), pointed at a stand-in. */
  vendorFetch?: Readonly<Record<string, typeof fetch>>
  /**
   * What only an entry can supply, by `<feature>.<name>` (a file read from an npm package on
   * disk, a Node-only writer); the feature checks the shape in its `setup`.
   */
  resources?: Readonly<Record<string, unknown>>
}

/** One route as its feature declares it in `routes/<feature>/index.ts`. */
export interface RouteSpec<D> {
  id: string
  phase: Phase
  summary: string
  /** REST aliases under `/api/v1`; none by default. */
  aliases?: readonly string[]
  /** Allowed methods; `['POST']` by default. */
  methods?: readonly string[] | '*'
  /**
   * The slots that differ from `basePolicy`. `replay` is required: every route states whether
   * a failed native attempt may be replayed to legacy (`always`, `before-effect`, `never`).
   */
  policy: Partial<RoutePolicy> & Pick<RoutePolicy, 'replay'>
  /**
   * The native implementation, built once per app from the feature's dependencies. Without it
   * the route is always proxied to its legacy function.
   */
  native?: (deps: D) => NativeHandler
  /**
   * What the native handler accepts and answers, by operation, with the zod schemas it validates
   * with: `/openapi.json` and the typed client (`AppType`) are built from it.
   */
  api?: readonly ApiOperation[]
}

export interface FeatureSpec<D> {
  /** The feature's folder under `routes/`. */
  name: string
  routes: readonly RouteSpec<D>[]
  /**
   * What the feature's handlers share (database, vendor client, child logger), built once from
   * the services. `undefined` when this runtime lacks something the feature needs: none of its
   * routes gets a handler, so all are proxied (and `flags.json` refuses `native > 0` for them at
   * start). Without `setup` the factories receive the services themselves.
   */
  setup?: (services: NativeServices) => D | undefined
  /**
   * The feature's problem catalogues (`routes/<feature>/problems.ts`): every code its handlers
   * answer with besides the gateway's own, so the whole set is enumerable (OpenAPI, the
   * catalogue test).
   */
  problems?: readonly ProblemSet[]
}

/** A feature as the route table sees it (built by `defineFeature`). */
export interface Feature<R extends readonly RouteSpec<never>[] = readonly RouteSpec<never>[]> {
  /**
   * The routes as declared, literal types kept (ids, aliases, methods, `api` schemas): only
   * types read it, to build the typed client (`AppType`, `src/kit/client.ts`).
   */
  readonly declared?: R
  readonly name: string
  readonly routes: readonly RouteDef[]
  readonly problems: readonly ProblemSet[]
  /** Native handlers by route id: the routes that have one, when the feature's setup succeeds. */
  nativeHandlers(services: NativeServices): Record<string, NativeHandler>
}

/**
 * Declare a feature: its routes (the rows of the route table) with their native handler
 * factories, and the set-up their handlers share.
 *
 * @example
 * export const settlement = defineFeature({
 *   name: 'settlement',
 *   setup: ({ db, logger }) => (db ? { db, logger: logger.child({ component: 'settlement' }) } : undefined),
 *   routes: [
 *     { id: 'payout-calculate', phase: 2, summary: 'Creator payout with withholding tax',
 *       aliases: ['/api/v1/settlement/payout-calculate'], policy: { rateLimit: closed(30) },
 *       native: createPayoutCalculate },
 *   ],
 * })
 */
export function defineFeature<
  D = NativeServices,
  const R extends readonly RouteSpec<D>[] = readonly RouteSpec<D>[],
>(spec: FeatureSpec<D> & { routes: R }): Feature<R> {
  const routes = spec.routes.map(
    (r): RouteDef => ({
      id: r.id,
      phase: r.phase,
      summary: r.summary,
      aliases: r.aliases ?? [],
      methods: r.methods ?? ['POST'],
      policy: { ...basePolicy, ...r.policy },
      stayLegacy: r.phase === 'stay-legacy',
      feature: spec.name,
      ...(r.api ? { api: r.api } : {}),
    }),
  )
  for (const r of spec.routes) {
    if (r.native && r.phase === 'stay-legacy') {
      throw new TypeError(`route table: ${r.id} stays on legacy and cannot have a native handler`)
    }
  }
  return {
    name: spec.name,
    routes,
    problems: spec.problems ?? [],
    nativeHandlers(services) {
      const handlers: Record<string, NativeHandler> = {}
      const native = spec.routes.filter((r) => r.native)
      if (native.length === 0) return handlers
      const deps = spec.setup ? spec.setup(services) : (services as D)
      if (deps === undefined) return handlers
      for (const r of native) handlers[r.id] = (r.native as (deps: D) => NativeHandler)(deps)
      return handlers
    },
  }
}

/** The assembled route table: every route of every feature, in phase order. */
export interface RouteTable {
  readonly routes: readonly RouteDef[]
  readonly ids: ReadonlySet<string>
  /** Native handlers by route id, across all features. */
  nativeHandlers(services: NativeServices): Record<string, NativeHandler>
}

const PHASE_ORDER: Record<Phase, number> = { 1: 0, 2: 1, 3: 2, 'stay-legacy': 3, unknown: 4 }

/**
 * Assemble the route table from the features (`routes/index.ts` does it once).
 * @throws TypeError when two routes share an id or an alias, or two features a name.
 */
export function assembleRouteTable(features: readonly Feature[]): RouteTable {
  const names = new Set<string>()
  const ids = new Set<string>()
  const aliases = new Map<string, string>()
  for (const feature of features) {
    if (names.has(feature.name)) throw new TypeError(`route table: feature ${feature.name} twice`)
    names.add(feature.name)
    for (const r of feature.routes) {
      if (!FUNCTION_NAME.test(r.id)) throw new TypeError(`route table: bad route id ${r.id}`)
      if (ids.has(r.id)) throw new TypeError(`route table: route ${r.id} declared twice`)
      ids.add(r.id)
      for (const alias of r.aliases) {
        const owner = aliases.get(alias)
        if (owner) throw new TypeError(`route table: alias ${alias} of ${r.id} is ${owner}'s`)
        aliases.set(alias, r.id)
      }
    }
  }
  // Stable sort: within a phase, features keep their listed order.
  const routes = features
    .flatMap((f) => f.routes)
    .sort((a, b) => PHASE_ORDER[a.phase] - PHASE_ORDER[b.phase])
  return {
    routes,
    ids,
    nativeHandlers(services) {
      return Object.assign({}, ...features.map((f) => f.nativeHandlers(services)))
    },
  }
}

/**
 * What `flags.json` is checked against: the known route ids, the routes with a native handler,
 * and the routes that may be shadowed (read-only and native).
 */
export function flagRulesFor(
  routes: readonly RouteDef[],
  native: Readonly<Record<string, unknown>>,
): {
  knownRoutes: ReadonlySet<string>
  nativeRoutes: ReadonlySet<string>
  shadowRoutes: ReadonlySet<string>
} {
  const nativeRoutes = new Set(Object.keys(native))
  return {
    knownRoutes: new Set(routes.map((r) => r.id)),
    nativeRoutes,
    shadowRoutes: new Set(
      routes.filter((r) => r.policy.readOnly && nativeRoutes.has(r.id)).map((r) => r.id),
    ),
  }
}
