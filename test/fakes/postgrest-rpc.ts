import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import pg from 'pg'

/**
 * A stand-in for PostgREST's RPC endpoint (docs.postgrest.org, "Functions as RPC") backed by a
 * real PostgreSQL: `POST /rest/v1/rpc/<fn>` with the named arguments as a JSON object, run as
 * the role in the bearer JWT's `role` claim, errors as `{code, message, details, hint}` with
 * PostgREST's status mapping. Records every request so tests can check what supabase-js sent.
 */

export interface RpcRequest {
  method: string
  path: string
  headers: IncomingHttpHeaders
  body: unknown
}

export interface PostgrestRpcFake {
  url: string
  requests: RpcRequest[]
  /** Answer 503 PGRST001 as PostgREST does when it cannot reach the database. */
  setDatabaseDown(down: boolean): void
  close(): Promise<void>
}

/** PostgREST's SQLSTATE → HTTP status (docs.postgrest.org/en/stable/references/errors.html). */
function statusFor(code: string, role: string): number {
  if (code === 'P0001') return 400
  if (code === '42501') return role === 'anon' ? 401 : 403
  if (code === '42883') return 404
  if (code.startsWith('23')) return 409
  if (code.startsWith('08') || code.startsWith('53')) return 503
  if (code.startsWith('22') || code.startsWith('42')) return 400
  return 500
}

function roleOf(authorization: string | undefined): string | undefined {
  const token = /^Bearer (.+)$/.exec(authorization ?? '')?.[1]
  const payload = token?.split('.')[1]
  if (!payload) return undefined
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as {
      role?: unknown
    }
    return typeof claims.role === 'string' && /^[a-z_]+$/.test(claims.role)
      ? claims.role
      : undefined
  } catch {
    return undefined
  }
}

export async function startPostgrestRpcFake({
  connectionString,
  apiKeys,
}: {
  connectionString: string
  /** Keys accepted in `apikey` (the anon and service-role JWTs). */
  apiKeys: string[]
}): Promise<PostgrestRpcFake> {
  const pool = new pg.Pool({ connectionString, max: 5 })
  pool.on('error', () => {}) // a forced drop at teardown may reach a closing connection
  const requests: RpcRequest[] = []
  let databaseDown = false

  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const raw = Buffer.concat(chunks).toString('utf8')
    let body: unknown
    try {
      body = raw ? JSON.parse(raw) : {}
    } catch {
      body = raw
    }
    const path = new URL(req.url ?? '/', 'http://fake').pathname
    requests.push({ method: req.method ?? '', path, headers: req.headers, body })
    const reply = (status: number, payload: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' })
      res.end(JSON.stringify(payload))
    }
    const error = (status: number, code: string, message: string, details: string | null = null) =>
      reply(status, { code, message, details, hint: null })

    const fn = /^\/rest\/v1\/rpc\/([a-z_][a-z0-9_]*)$/.exec(path)?.[1]
    if (!fn || req.method !== 'POST') return error(404, 'PGRST202', 'Could not find the function')
    if (!apiKeys.includes(String(req.headers.apikey)))
      return error(401, 'PGRST301', 'Invalid API key')
    const role = roleOf(req.headers.authorization)
    if (!role) return error(401, 'PGRST301', 'JWT could not be decoded')
    if (databaseDown)
      return error(503, 'PGRST001', 'Database client error. Retrying the connection.')
    if (!body || typeof body !== 'object' || Array.isArray(body)) {
      return error(400, 'PGRST102', 'Invalid body')
    }
    const entries = Object.entries(body as Record<string, unknown>)
    if (entries.some(([name]) => !/^[a-z_][a-z0-9_]*$/.test(name)))
      return error(400, 'PGRST202', 'Bad argument name')
    const args = entries.map(([name], i) => `${name} => $${i + 1}`).join(', ')
    const values = entries.map(([, v]) =>
      v !== null && typeof v === 'object' ? JSON.stringify(v) : v,
    )
    const client = await pool.connect()
    try {
      await client.query('begin')
      await client.query(`set local role ${role}`)
      const result = await client.query(`select public.${fn}(${args}) as result`, values)
      await client.query('commit')
      reply(200, result.rows[0]?.result ?? null)
    } catch (e) {
      await client.query('rollback').catch(() => {})
      const err = e as { code?: string; message?: string; detail?: string }
      const code = err.code ?? 'XX000'
      if (code === '42883')
        return error(404, 'PGRST202', `Could not find the function public.${fn}`)
      error(statusFor(code, role), code, err.message ?? 'error', err.detail ?? null)
    } finally {
      client.release()
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    setDatabaseDown: (down) => {
      databaseDown = down
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeAllConnections()
      await closed
      await pool.end()
    },
  }
}
