/**
 * What a legacy stand-in contract (`test/parity/<route>/legacy.ts`) is written with: the
 * function's documented contract over plain `Request`/`Response`, on the same database the
 * gateway's native side uses (the Edge Functions and the gateway share one Supabase project).
 */
import { jwtVerify } from 'jose'
import type { Db } from '../../src/platform/db/port.js'
import { DbFunctionError } from '../../src/platform/db/port.js'

export interface LegacyUser {
  sub: string | undefined
  role: string
  claims: Record<string, unknown>
}

export interface LegacyEnv {
  db: Db
  /** The TossPayments stand-in the legacy functions call (the same one native calls). */
  toss: { url: string; secretKey: string }
  /** The function's own JWT check (Supabase `verify_jwt`): undefined when absent or invalid. */
  user(req: Request): Promise<LegacyUser | undefined>
}

/** One migrated function's legacy behaviour. */
export type LegacyContract = (req: Request, env: LegacyEnv) => Promise<Response>

export interface FieldProblem {
  field: string
  message: string
}

/** The documented error body: problem+json with a stable `code` (and the fields at fault), never cached. */
export function problem(
  status: number,
  code: string,
  title: string,
  options: { detail?: string; errors?: FieldProblem[]; headers?: Record<string, string> } = {},
): Response {
  const body = {
    type: `https://bff.dev/problems/${code}`,
    title,
    status,
    detail: options.detail ?? title,
    code,
    requestId: crypto.randomUUID(),
    ...(options.errors ? { errors: options.errors } : {}),
  }
  return new Response(JSON.stringify(body), {
    status,
    headers: {
      'content-type': 'application/problem+json',
      'cache-control': 'no-store',
      ...options.headers,
    },
  })
}

export const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  })

export const validationFailed = (errors: FieldProblem[]) =>
  problem(422, 'validation-failed', 'The request is not valid', { errors })

/** Zod-style issues → field problems (`items.0.quantity`, `(root)`). */
export const fieldsOf = (
  issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>,
) =>
  issues.map((issue) => ({
    field: issue.path.length ? issue.path.map(String).join('.') : '(root)',
    message: issue.message,
  }))

/** The JSON body, or the 400 the contract gives for a body that is not JSON, naming `(body)`. */
export async function readJson(
  req: Request,
): Promise<{ ok: true; body: unknown } | { ok: false; response: Response }> {
  try {
    return { ok: true, body: await req.json() }
  } catch {
    return {
      ok: false,
      response: problem(400, 'bad-request', 'Bad request', {
        errors: [{ field: '(body)', message: 'not valid JSON' }],
      }),
    }
  }
}

/** A database function's stable error code, or undefined for anything else. */
export function dbCode(error: unknown): DbFunctionError | undefined {
  return error instanceof DbFunctionError ? error : undefined
}

/** Verify an HS256 Supabase token the way `verify_jwt` does. */
export function hs256User(secret: string) {
  const key = new TextEncoder().encode(secret)
  return async (req: Request): Promise<LegacyUser | undefined> => {
    const header = req.headers.get('authorization')
    if (!header?.startsWith('Bearer ')) return undefined
    try {
      const { payload } = await jwtVerify(header.slice(7), key, { algorithms: ['HS256'] })
      return {
        sub: payload.sub,
        role: typeof payload.role === 'string' ? payload.role : 'anon',
        claims: payload as Record<string, unknown>,
      }
    } catch {
      return undefined
    }
  }
}
