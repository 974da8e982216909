import { type Context, Hono } from 'hono'
import { z } from 'zod'
import { fieldProblemsFromZod, validationFailed } from '../errors.js'
import type { AppEnv } from '../types.js'
import type { AdminAuth, AdminPrincipal } from './auth.js'
import type { AdminOperations, ChangeRequest } from './operations.js'

/**
 * `/admin/api`: JSON for the CLI and for automation. Bearer authentication only (the admin
 * token or an ops JWT), so no cookie can ride along with a cross-site request.
 *
 * GET  /flags                      effective table, source, version, store status
 * GET  /routes                     per route: stage, breaker, hold, recent traffic
 * PUT  /flags/:route               {native, reason, version}
 * POST /flags/:route/step          {reason, version, force?}  (the ramp gate may refuse: 409)
 * POST /flags/:route/kill          {reason, version?}
 * PUT  /flags/:route/shadow        {shadow, reason, version?}  (read-only routes; 0 = off)
 * GET  /gate/:route                the ramp gate's verdict for the next step (fleet figures)
 * GET  /shadow?route=              recent shadow mismatches on this instance (masked)
 * GET  /progress?days=             the strangler progress view (fleet figures)
 * POST /parity/:route              {passed, failed}: a parity run's outcome
 * GET  /audit?route=&limit=&before=
 * GET  /explain?route=&subject=|clientId=|key=
 */

export type AdminEnv = {
  Bindings: AppEnv['Bindings']
  Variables: AppEnv['Variables'] & { principal: AdminPrincipal }
}

const reason = z.string({ error: 'required: say why' })
const version = z.string({ error: 'required: the version you read (GET /admin/api/flags)' }).min(1)

const SetBody = z.object({
  native: z.number({ error: 'must be a number from 0 to 100' }),
  reason,
  version,
})
const StepBody = z.object({
  reason,
  version,
  force: z.boolean({ error: 'true to step past a refusing ramp gate' }).optional(),
})
const ShadowBody = z.object({
  shadow: z.number({ error: 'must be a number from 0 to 100' }),
  reason,
  version: version.optional(),
})
const ParityBody = z.object({
  passed: z.number().int().min(0),
  failed: z.number().int().min(0),
})
const KillBody = z.object({ reason, version: version.optional() })

async function body<T>(req: Request, schema: z.ZodType<T>): Promise<T> {
  let raw: unknown
  try {
    raw = await req.json()
  } catch {
    throw validationFailed([{ field: '(body)', message: 'must be a JSON object' }])
  }
  const parsed = schema.safeParse(raw)
  if (!parsed.success) throw validationFailed(fieldProblemsFromZod(parsed.error.issues))
  return parsed.data
}

const QueryInt = z.coerce.number().int().min(1)

export function adminApi(ops: AdminOperations, auth: AdminAuth) {
  const api = new Hono<AdminEnv>()

  api.use('*', async function adminBearer(c, next) {
    c.set('principal', await auth.fromBearer(c))
    c.header('cache-control', 'no-store')
    await next()
  })

  const changeRequest = (
    c: Context<AdminEnv>,
    reasonText: string,
    expectedVersion?: string,
  ): ChangeRequest => ({
    routeId: c.req.param('route') ?? '',
    reason: reasonText,
    expectedVersion,
    actor: c.var.principal.actor,
    source: c.req.header('x-bff-change-source') === 'cli' ? 'cli' : 'api',
    requestId: c.var.requestId,
  })

  api.get('/flags', (c) => c.json(ops.table()))

  api.get('/routes', (c) => c.json({ routes: ops.status() }))

  api.put('/flags/:route', async (c) => {
    const b = await body(c.req.raw, SetBody)
    return c.json(await ops.set(changeRequest(c, b.reason, b.version), b.native))
  })

  api.post('/flags/:route/step', async (c) => {
    const b = await body(c.req.raw, StepBody)
    return c.json(await ops.step({ ...changeRequest(c, b.reason, b.version), force: b.force }))
  })

  api.put('/flags/:route/shadow', async (c) => {
    const b = await body(c.req.raw, ShadowBody)
    return c.json(await ops.setShadow(changeRequest(c, b.reason, b.version), b.shadow))
  })

  api.get('/gate/:route', async (c) => c.json(await ops.gate(c.req.param('route'))))

  api.get('/shadow', (c) => c.json(ops.shadowSamples(c.req.query('route') || undefined)))

  api.get('/progress', async (c) => {
    const days = c.req.query('days')
    const parsed = days === undefined ? undefined : QueryInt.max(365).safeParse(days)
    if (parsed && !parsed.success) {
      throw validationFailed([{ field: 'query:days', message: 'an integer from 1 to 365' }])
    }
    return c.json(await ops.progress({ removableDays: parsed?.data }))
  })

  api.post('/parity/:route', async (c) => {
    const b = await body(c.req.raw, ParityBody)
    await ops.recordParity(c.req.param('route'), { ...b, actor: c.var.principal.actor })
    return c.json({ recorded: true })
  })

  api.post('/flags/:route/kill', async (c) => {
    const b = await body(c.req.raw, KillBody)
    return c.json(await ops.kill(changeRequest(c, b.reason, b.version)))
  })

  api.get('/audit', async (c) => {
    const problems = []
    const limit = c.req.query('limit')
    const before = c.req.query('before')
    const parsedLimit = limit === undefined ? undefined : QueryInt.max(500).safeParse(limit)
    const parsedBefore = before === undefined ? undefined : QueryInt.safeParse(before)
    if (parsedLimit && !parsedLimit.success)
      problems.push({ field: 'query:limit', message: 'an integer from 1 to 500' })
    if (parsedBefore && !parsedBefore.success)
      problems.push({ field: 'query:before', message: 'a positive integer' })
    if (problems.length) throw validationFailed(problems)
    const entries = await ops.history({
      routeId: c.req.query('route') || undefined,
      limit: parsedLimit?.data,
      before: parsedBefore?.data,
    })
    return c.json({ entries })
  })

  api.get('/explain', (c) => {
    const route = c.req.query('route')
    if (!route) throw validationFailed([{ field: 'query:route', message: 'required' }])
    return c.json(
      ops.explain({
        routeId: route,
        subject: c.req.query('subject') || undefined,
        clientId: c.req.query('clientId') || undefined,
        key: c.req.query('key') || undefined,
      }),
    )
  })

  return api
}
