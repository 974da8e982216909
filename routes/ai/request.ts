import type { z } from 'zod'
import {
  badRequest,
  fieldProblemsFromZod,
  GatewayError,
  validationFailed,
} from '../../src/errors.js'
import type { AppContext } from '../../src/types.js'

/**
 * Read and validate the JSON body. Malformed JSON is a 400; a body that parses but breaks the
 * schema is a 422 listing every bad field.
 */
export async function readJsonBody<S extends z.ZodType>(
  c: AppContext,
  schema: S,
): Promise<z.output<S>> {
  let body: unknown
  try {
    body = await c.req.json()
  } catch {
    throw badRequest('The body must be a JSON object (Content-Type: application/json).')
  }
  const parsed = schema.safeParse(body)
  if (!parsed.success) throw validationFailed(fieldProblemsFromZod(parsed.error.issues))
  return parsed.data
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** The signed-in user the quota belongs to (a Supabase user id). */
export function requireUserId(c: AppContext): string {
  const subject = c.var.identity?.subject
  if (!subject || !UUID.test(subject)) {
    throw new GatewayError({
      status: 403,
      code: 'ai-user-required',
      title: 'A signed-in user is required',
      detail: 'AI suggestions are counted against a user quota; sign in as a user to use them.',
    })
  }
  return subject.toLowerCase()
}
