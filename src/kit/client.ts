import type { Hono } from 'hono'
import type { BlankEnv, BlankSchema, ParamKeys } from 'hono/types'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import type { z } from 'zod'
import type { ApiOperation, Feature, RouteSpec } from '../route-table.js'

/**
 * The gateway's routes as a Hono schema, built from the features' declarations (ids, aliases,
 * methods and the `api` zod schemas), so `hc<AppType>` from `hono/client` is a typed client:
 *
 * ```ts
 * const bff = hc<AppType>('/api/bff')
 * const res = await bff.functions.v1['payment-checkout'].$post({ json: { items } })
 * ```
 *
 * Types only: the gateway itself dispatches through its route table, not through these routes.
 */

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (
  x: infer I,
) => void
  ? I
  : never

type Bases<R> = R extends { id: infer I extends string }
  ? `/functions/v1/${I}` | (R extends { aliases: readonly (infer A extends string)[] } ? A : never)
  : never

type ParamInput<P extends string> = [ParamKeys<P>] extends [never]
  ? unknown
  : { param: { [K in ParamKeys<P> as K extends `:${infer N}` ? N : K]: string } }

/** Query values as a URL carries them: strings (numbers and booleans as text). */
type QueryInput<Q> = { [K in keyof Q]?: string | string[] }

type OperationInput<O, P extends string> = (O extends { body: infer B extends z.ZodType }
  ? undefined extends z.input<B>
    ? { json?: z.input<B> }
    : { json: z.input<B> }
  : unknown) &
  (O extends { query: infer Q extends z.ZodType } ? { query?: QueryInput<z.input<Q>> } : unknown) &
  (O extends { headers: readonly (infer H)[] }
    ? 'idempotency-key' extends H
      ? { header?: { 'idempotency-key'?: string } }
      : unknown
    : unknown) &
  ParamInput<P>

type OperationOutput<O> = O extends { produces: readonly string[] }
  ? string
  : O extends { response: infer S extends z.ZodType }
    ? z.output<S>
    : Record<string, unknown>

type OperationEndpoint<O, P extends string> = {
  input: OperationInput<O, P>
  output: OperationOutput<O>
  outputFormat: O extends { produces: readonly string[] } ? 'text' : 'json'
  status: ContentfulStatusCode
}

type OperationSchema<B extends string, O> = O extends ApiOperation
  ? {
      [P in `${B}${O extends { path: infer S extends string } ? S : ''}`]: {
        [M in `$${Lowercase<O['method']>}`]: OperationEndpoint<O, P>
      }
    }
  : never

type Methods<R> = R extends { methods: readonly (infer M extends string)[] } ? M : 'POST'

/** A route proxied as is: its body and answer are the legacy function's own contract. */
type LegacyEndpoint = {
  input: { json?: unknown }
  output: unknown
  outputFormat: 'json'
  status: ContentfulStatusCode
}

type RouteSchema<R> = R extends { api: readonly (infer O)[] }
  ? OperationSchema<Bases<R>, O>
  : { [P in Bases<R>]: { [M in `$${Lowercase<Methods<R>>}`]: LegacyEndpoint } }

type FeatureRoutes<F> = F extends Feature<infer R> ? R[number] : never

/** The schema of every route of `features` (`routes/index.ts`, `FEATURES`). */
export type RoutesSchema<Features extends readonly Feature<readonly RouteSpec<never>[]>[]> =
  UnionToIntersection<RouteSchema<FeatureRoutes<Features[number]>>>

/** A Hono app type with the routes of `features`, for `hc` from `hono/client`. */
export type ClientApp<Features extends readonly Feature<readonly RouteSpec<never>[]>[]> = Hono<
  BlankEnv,
  RoutesSchema<Features> & BlankSchema,
  '/'
>
