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

type Issue = { path: ReadonlyArray<PropertyKey>; message: string; code?: string; keys?: string[] }

export interface InputOptions {
  /** Where the input came from: names the fields (`query:limit`); `json` by default. */
  target?: Target
  /**
   * A member the schema does not know (a `.strict()` object) is named itself with this message
   * (`items.0.colour: unknown member`) instead of its parent object: the contract of the routes
   * whose legacy function names the typo.
   */
  unknownMember?: string
}

/** The one problem for input that breaks its schema: 422 listing every field at fault. */
export function invalidInput(
  issues: ReadonlyArray<Issue>,
  target: Target = 'json',
  unknownMember?: string,
): GatewayError {
  const named = unknownMember
    ? issues.flatMap((issue): Issue[] =>
        issue.code === 'unrecognized_keys' && issue.keys
          ? issue.keys.map((key) => ({ path: [...issue.path, key], message: unknownMember }))
          : [issue],
      )
    : issues
  return validationFailed(fieldProblemsFromZod(named, PREFIX[target]))
}

/** The hook every `zValidator` gets: a failure throws the 422 problem (the app renders it). */
export function problemHook(result: { success: boolean; target: Target; error?: unknown }): void {
  hookNaming(undefined)(result)
}

const hookNaming =
  (unknownMember: string | undefined) =>
  (result: { success: boolean; target: Target; error?: unknown }): void => {
    if (!result.success) {
      const { issues } = result.error as z.ZodError
      throw invalidInput(issues as ReadonlyArray<Issue>, result.target, unknownMember)
    }
  }

/** `zValidator` with the shared hook, for Hono routes. */
export function validator<T extends Target, S extends z.ZodType>(
  target: T,
  schema: S,
  options: Pick<InputOptions, 'unknownMember'> = {},
) {
  return zValidator(
    target,
    schema,
    options.unknownMember ? hookNaming(options.unknownMember) : problemHook,
  )
}

const proceed = async () => {}

async function validTarget<S extends z.ZodType>(
  c: Context,
  target: 'query' | 'param' | 'header',
  schema: S,
  options: Pick<InputOptions, 'unknownMember'>,
): Promise<z.output<S>> {
  await validator(target, schema, options)(c, proceed)
  return (c.req.valid as (t: string) => unknown)(target) as z.output<S>
}

/**
 * The JSON body, whatever the `Content-Type` says (as the Edge Functions read it).
 * `empty`: what an empty body stands for on a route that allows one (otherwise it is a 400).
 * @throws GatewayError 400 naming `(body)` when it is missing or not JSON.
 */
export async function readJson(c: Context, options: { empty?: unknown } = {}): Promise<unknown> {
  const notJson = () =>
    badRequest(
      options.empty === undefined
        ? 'The body must be a JSON object'
        : 'The body must be empty or a JSON object',
      [{ field: '(body)', message: 'not valid JSON' }],
    )
  if (options.empty === undefined) {
    try {
      return await c.req.json()
    } catch {
      throw notJson()
    }
  }
  const text = await c.req.text()
  if (text.trim() === '') return options.empty
  try {
    return JSON.parse(text)
  } catch {
    throw notJson()
  }
}

/** Validate a value already read (a body whose schema depends on its content). */
export function parseInput<S extends z.ZodType>(
  schema: S,
  value: unknown,
  options: InputOptions = {},
): z.output<S> {
  const result = schema.safeParse(value)
  if (!result.success) {
    throw invalidInput(result.error.issues, options.target, options.unknownMember)
  }
  return result.data
}

/** The JSON body, validated. */
export async function validJson<S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S>> {
  return parseInput(schema, await readJson(c))
}

/** The query string, validated (fields named `query:<name>`). */
export function validQuery<S extends z.ZodType>(
  c: AppContext,
  schema: S,
  options: Pick<InputOptions, 'unknownMember'> = {},
): Promise<z.output<S>> {
  return validTarget(c, 'query', schema, options)
}

/** The path parameters, validated (fields named `param:<name>`). */
export function validParams<S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S>> {
  return validTarget(c, 'param', schema, {})
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
