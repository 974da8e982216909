import { type Context, Hono } from 'hono'
import { z } from 'zod'
import { validator, validJson } from '../kit/request.js'
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

const limitMessage = { error: 'an integer from 1 to 500' }
const beforeMessage = { error: 'a positive integer' }
const optionalText = z
  .string()
  .optional()
  .transform((v) => v || undefined)

const AuditQuery = z.object({
  route: optionalText,
  limit: z.coerce
    .number(limitMessage)
    .int(limitMessage)
    .min(1, limitMessage)
    .max(500, limitMessage)
    .optional(),
  before: z.coerce.number(beforeMessage).int(beforeMessage).min(1, beforeMessage).optional(),
})

const daysMessage = { error: 'an integer from 1 to 365' }
const ProgressQuery = z.object({
  days: z.coerce
    .number(daysMessage)
    .int(daysMessage)
    .min(1, daysMessage)
    .max(365, daysMessage)
    .optional(),
})

const ExplainQuery = z.object({
  route: z.string({ error: 'required' }).min(1, { error: 'required' }),
  subject: optionalText,
  clientId: optionalText,
  key: optionalText,
})

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
    const b = await validJson(c, SetBody)
    return c.json(await ops.set(changeRequest(c, b.reason, b.version), b.native))
  })

  api.post('/flags/:route/step', async (c) => {
    const b = await validJson(c, StepBody)
    return c.json(await ops.step({ ...changeRequest(c, b.reason, b.version), force: b.force }))
  })

  api.put('/flags/:route/shadow', async (c) => {
    const b = await validJson(c, ShadowBody)
    return c.json(await ops.setShadow(changeRequest(c, b.reason, b.version), b.shadow))
  })

  api.get('/gate/:route', async (c) => c.json(await ops.gate(c.req.param('route'))))

  api.get('/shadow', (c) => c.json(ops.shadowSamples(c.req.query('route') || undefined)))

  api.get('/progress', validator('query', ProgressQuery), async (c) => {
    const { days } = c.req.valid('query')
    return c.json(await ops.progress({ removableDays: days }))
  })

  api.post('/parity/:route', async (c) => {
    const b = await validJson(c, ParityBody)
    await ops.recordParity(c.req.param('route'), { ...b, actor: c.var.principal.actor })
    return c.json({ recorded: true })
  })

  api.post('/flags/:route/kill', async (c) => {
    const b = await validJson(c, KillBody)
    return c.json(await ops.kill(changeRequest(c, b.reason, b.version)))
  })

  api.get('/audit', validator('query', AuditQuery), async (c) => {
    const { route, limit, before } = c.req.valid('query')
    const entries = await ops.history({ routeId: route, limit, before })
    return c.json({ entries })
  })

  api.get('/explain', validator('query', ExplainQuery), (c) => {
    const { route, subject, clientId, key } = c.req.valid('query')
    return c.json(ops.explain({ routeId: route, subject, clientId, key }))
  })

  return api
}
