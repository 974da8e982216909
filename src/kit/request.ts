import { zValidator } from '@hono/zod-validator'
import type { Context, ValidationTargets } from 'hono'
import type { z } from 'zod'
import { fieldProblemsFromZod, type GatewayError } from '../errors.js'
import { badRequest, validationFailed } from '../problems.js'
import type { AppContext } from '../types.js'

/**
 * The request kit of native routes and the admin API: every input is validated with zod, and
 * every mistake gets the same answer wherever it is made.
 *
 * - malformed JSON body: 400 `bad-request`, field `(body)`;
 * - input that breaks its schema: 422 `validation-failed`, every field at fault listed
 *   (`items.0.quantity`, `query:limit`, `param:route`, `header:idempotency-key`).
 *
 * Hono routes put `validator(target, schema)` (`@hono/zod-validator` with the shared hook) in
 * front of the handler and read `c.req.valid(target)`; a native handler calls `validJson`,
 * `validQuery` or `validParams`. The schemas are the routes' own (`routes/<feature>/schemas.ts`).
 */

type Target = keyof ValidationTargets

const PREFIX: Record<Target, string> = {
  json: '',
  form: 'form:',
  query: 'query:',
  param: 'param:',
  header: 'header:',
  cookie: 'cookie:',
}

/** The one problem for input that breaks its schema: 422 listing every field at fault. */
export function invalidInput(
  issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>,
  target: Target = 'json',
): GatewayError {
  return validationFailed(fieldProblemsFromZod(issues, PREFIX[target]))
}

/** The hook every `zValidator` gets: a failure throws the 422 problem (the app renders it). */
export function problemHook(result: { success: boolean; target: Target; error?: unknown }): void {
  if (!result.success) {
    const { issues } = result.error as z.ZodError
    throw invalidInput(issues, result.target)
  }
}

/** `zValidator` with the shared hook, for Hono routes. */
export function validator<T extends Target, S extends z.ZodType>(target: T, schema: S) {
  return zValidator(target, schema, problemHook)
}

const proceed = async () => {}

async function validTarget<S extends z.ZodType>(
  c: Context,
  target: 'query' | 'param' | 'header',
  schema: S,
): Promise<z.output<S>> {
  await validator(target, schema)(c, proceed)
  return (c.req.valid as (t: string) => unknown)(target) as z.output<S>
}

/**
 * The JSON body, whatever the `Content-Type` says (as the Edge Functions read it).
 * @throws GatewayError 400 naming `(body)` when it is missing or not JSON.
 */
export async function readJson(c: Context): Promise<unknown> {
  try {
    return await c.req.json()
  } catch {
    throw badRequest('The body must be a JSON object', [
      { field: '(body)', message: 'not valid JSON' },
    ])
  }
}

/** Validate a value already read (a body whose schema depends on its content). */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value)
  if (!result.success) throw invalidInput(result.error.issues)
  return result.data
}

/** The JSON body, validated. */
export async function validJson<S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S>> {
  return parseInput(schema, await readJson(c))
}

/** The query string, validated (fields named `query:<name>`). */
export function validQuery<S extends z.ZodType>(c: AppContext, schema: S): Promise<z.output<S>> {
  return validTarget(c, 'query', schema)
}

/** The path parameters, validated (fields named `param:<name>`). */
export function validParams<S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S>> {
  return validTarget(c, 'param', schema)
}

/** `Idempotency-Key` (IETF draft-ietf-httpapi-idempotency-key-header), at most 300 printable characters like Toss's. */
export function readIdempotencyKey(c: Context): string | undefined {
  const value = c.req.header('idempotency-key')
  if (value === undefined) return undefined
  if (!/^[\x20-\x7e]{1,300}$/.test(value) || value.trim() === '') {
    throw validationFailed([
      { field: 'header:idempotency-key', message: '1-300 printable ASCII characters' },
    ])
  }
  return value
}
