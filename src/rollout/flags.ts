import { z } from 'zod'
import { AppError } from '../errors.js'
import { percentToBasisPoints } from './bucket.js'

/**
 * `flags.json`: per route, the percent of subjects served natively (README, "Ramping a route").
 * Validated with zod here and by `flags.schema.json` in editors; both must agree.
 */

const ROUTE_ID = /^[a-z0-9_-]{1,64}$/

export const RollbackSettingsSchema = z
  .object({
    /** Auto-rollback watches the route (on unless turned off for it). */
    enabled: z.boolean().default(true),
    /** Native error rate may be at most this many times legacy's (plus `minErrorRate`). */
    errorRateRatio: z.number().min(1).max(100).default(2),
    /** Absolute error rate below which native is never rolled back (noise floor). */
    minErrorRate: z.number().min(0).max(1).default(0.05),
    /** Native p95 latency may be at most this many times legacy's. */
    latencyRatio: z.number().min(1).max(100).default(3),
    /** Native p95 below this many milliseconds never counts as slow, whatever legacy's. */
    minLatencyMs: z.number().int().min(0).max(600_000).default(250),
    windowSeconds: z.number().int().min(10).max(3600).default(60),
    minSamples: z.number().int().min(1).max(100_000).default(50),
    cooldownSeconds: z.number().int().min(10).max(86_400).default(300),
    /** The ramp gate refuses a step when more than this share of shadow comparisons differ. */
    maxShadowMismatchRate: z.number().min(0).max(1).default(0.01),
  })
  .strict()

export type RollbackSettings = z.output<typeof RollbackSettingsSchema>

export const PercentSchema = z
  .number({ error: 'must be a number from 0 to 100' })
  .min(0, 'must be from 0 to 100')
  .max(100, 'must be from 0 to 100')
  .refine((n) => Math.abs(n * 100 - Math.round(n * 100)) < 1e-9, 'must be in steps of 0.01')

const RouteFlagSchema = z
  .object({
    native: PercentSchema,
    /**
     * Percent of requests also sent to the other backend in the background and compared
     * (read-only routes only).
     */
    shadow: PercentSchema.optional(),
    group: z
      .string()
      .regex(/^[a-z0-9_-]{1,64}$/, 'must be [a-z0-9_-], 1 to 64 characters')
      .optional(),
    rollback: RollbackSettingsSchema.optional(),
  })
  .strict()

export const FlagsFileSchema = z
  .object({
    $schema: z.string().optional(),
    routes: z.record(z.string(), RouteFlagSchema),
  })
  .strict()

export type FlagsFile = z.input<typeof FlagsFileSchema>

export interface RouteFlag {
  /** 0..10000: bucket numbers served natively. */
  basisPoints: number
  percent: number
  /** Bucketing scope: the group when set, else the route id. */
  scope: string
  group: string | undefined
  rollback: RollbackSettings | undefined
  /** Percent of requests shadowed to the other backend (0 when unset). */
  shadow: number
}

export interface FlagTable {
  routes: ReadonlyMap<string, RouteFlag>
  /** Where the table came from (`file:flags.json`, `redis`, ...). */
  source: string
  /** Changes with every update; compared for optimistic concurrency. */
  version: string
}

/** The flag table in force; a live store swaps it whole. Read on every request: keep it cheap. */
export interface FlagSource {
  current(): FlagTable
}

export class FlagsError extends AppError {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`${source}: ${problems.join('; ')}`)
    this.name = 'FlagsError'
  }
}

export interface FlagRules {
  /** Every route id the table knows. */
  knownRoutes: ReadonlySet<string>
  /** Route ids with a native handler (stay-legacy ones never have one). */
  nativeRoutes: ReadonlySet<string>
  /**
   * Route ids that may be shadowed: declared read-only and with a native handler. Any other
   * route refuses a `shadow` percentage (a money-moving call must never run twice).
   */
  shadowRoutes?: ReadonlySet<string>
}

/**
 * Validate a parsed flags document and compile it into a `FlagTable`.
 * @throws FlagsError naming each bad route and field.
 */
export function compileFlags(
  doc: unknown,
  rules: FlagRules,
  source: string,
  version: string,
): FlagTable {
  const parsed = FlagsFileSchema.safeParse(doc)
  if (!parsed.success) {
    throw new FlagsError(
      source,
      parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`),
    )
  }
  const problems: string[] = []
  const routes = new Map<string, RouteFlag>()
  for (const [id, flag] of Object.entries(parsed.data.routes)) {
    if (!ROUTE_ID.test(id) || !rules.knownRoutes.has(id)) {
      problems.push(`routes.${id}: unknown route id (see the route table)`)
      continue
    }
    if (flag.native > 0 && !rules.nativeRoutes.has(id)) {
      problems.push(`routes.${id}.native: must be 0, the route has no native handler`)
      continue
    }
    if ((flag.shadow ?? 0) > 0 && !rules.shadowRoutes?.has(id)) {
      problems.push(
        `routes.${id}.shadow: must be 0, only read-only routes with a native handler are shadowed`,
      )
      continue
    }
    routes.set(id, {
      basisPoints: percentToBasisPoints(flag.native),
      percent: flag.native,
      scope: flag.group ?? id,
      group: flag.group,
      rollback: flag.rollback,
      shadow: flag.shadow ?? 0,
    })
  }
  if (problems.length) throw new FlagsError(source, problems)
  return { routes, source, version }
}

/** Back to the file form (for the admin API and the live store). */
export function flagsToDocument(table: FlagTable): FlagsFile {
  const routes: FlagsFile['routes'] = {}
  for (const [id, f] of table.routes) {
    routes[id] = {
      native: f.percent,
      ...(f.shadow > 0 ? { shadow: f.shadow } : {}),
      ...(f.group ? { group: f.group } : {}),
      ...(f.rollback ? { rollback: f.rollback } : {}),
    }
  }
  return { routes }
}

/** A fixed table (the file, read once at start). */
export function staticFlags(table: FlagTable): FlagSource {
  return { current: () => table }
}

/** A short content hash used as the version of a table read from a file. */
export async function contentVersion(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text))
  return Array.from(new Uint8Array(digest).slice(0, 6), (b) =>
    b.toString(16).padStart(2, '0'),
  ).join('')
}

/**
 * Parse and compile flags from JSON text.
 * @throws FlagsError for invalid JSON or an invalid table.
 */
export async function flagsFromText(
  text: string,
  rules: FlagRules,
  source: string,
): Promise<FlagTable> {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (error) {
    throw new FlagsError(source, [`not valid JSON (${(error as Error).message})`])
  }
  return compileFlags(doc, rules, source, await contentVersion(text))
}
