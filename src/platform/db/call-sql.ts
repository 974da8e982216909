/**
 * Builds `select public.<fn>(name => $1, ...)` for the direct drivers. Function and argument
 * names are spliced into SQL, so they must be plain identifiers; values always travel as
 * parameters.
 */

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/

export interface SqlCall {
  text: string
  values: unknown[]
}

export function buildFunctionCall(fn: string, args: Record<string, unknown>): SqlCall {
  if (!IDENTIFIER.test(fn)) throw new TypeError(`invalid function name: ${JSON.stringify(fn)}`)
  const names: string[] = []
  const values: unknown[] = []
  for (const [name, value] of Object.entries(args)) {
    if (!IDENTIFIER.test(name))
      throw new TypeError(`invalid argument name: ${JSON.stringify(name)}`)
    // An undefined argument is left out so the function's default applies.
    if (value === undefined) continue
    values.push(toParameter(value))
    names.push(`${name} => $${values.length}`)
  }
  return { text: `select public.${fn}(${names.join(', ')}) as result`, values }
}

/**
 * Objects and arrays go as JSON text: node-postgres would turn a JS array into a Postgres array
 * literal, which a jsonb parameter rejects.
 */
function toParameter(value: unknown): unknown {
  if (value === null || value instanceof Date) return value
  if (typeof value === 'object') return JSON.stringify(value)
  return value
}
