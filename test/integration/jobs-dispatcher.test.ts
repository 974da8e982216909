import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fundingChargesJob, fundingClockJob } from '../../routes/jobs/funding.js'
import { createScheduledDispatcher } from '../../routes/jobs/http.js'
import { schedulerDeps } from '../../routes/jobs/index.js'
import { refundRetryJob } from '../../routes/jobs/refund-retry.js'
import type { JobFactory } from '../../routes/jobs/types.js'
import { loadConfig } from '../../src/config.js'
import { createLogger } from '../../src/observability/log.js'
import { type GoogleOidcFake, startGoogleOidcFake } from '../fakes/google-oidc.js'
import { type LegacyStandIn, startLegacyStandIn } from '../fakes/legacy-functions.js'
import { startTossFake, type TossFake } from '../fakes/toss.js'
import { startTestGateway, type TestGateway } from '../helpers/gateway.js'
import { serviceToken } from '../helpers/tokens.js'
import { type Harness, postgresHarness, seedCatalog, seedPayment } from './db-harness.js'

const AUDIENCE = 'https://gw.example.com/functions/v1/scheduled-dispatcher'
const SCHEDULER = 'scheduler@project-id.iam.gserviceaccount.com'
const PATH = '/functions/v1/scheduled-dispatcher'

const logLines: string[] = []
const logger = createLogger({ level: 'debug', write: (line) => logLines.push(line) })

/** Test jobs: observable, slow on demand, budget-bound or failing. */
const calls = { counter: 0 }
let gate: Promise<void> = Promise.resolve()
const counterJob: JobFactory = () => ({
  name: 'counter',
  budgetMs: 5_000,
  cron: '*/5 * * * *',
  summary: 'counts its runs',
  async run() {
    calls.counter++
    await gate
    return { ran: 1 }
  },
})
const chunkedJob: JobFactory = () => ({
  name: 'chunked',
  budgetMs: 300,
  cron: '0 * * * *',
  summary: 'works through 1..20 in steps, stops at its budget, resumes from its cursor',
  async run(ctx) {
    let next = typeof ctx.state.next === 'number' ? ctx.state.next : 1
    let processed = 0
    while (next <= 20 && !ctx.shouldStop()) {
      await new Promise((resolve) => setTimeout(resolve, 40))
      processed++
      next++
    }
    ctx.saveState({ next })
    return { processed, remaining: 21 - next }
  },
})
const failingJob: JobFactory = () => ({
  name: 'failing',
  budgetMs: 1_000,
  cron: '0 0 * * *',
  summary: 'throws with personal data in its message',
  async run() {
    throw new Error('could not reach someone@example.com at 010-1234-5678')
  },
})

describe('scheduled-dispatcher on Cloud Run (OIDC) with PostgreSQL', () => {
  let h: Harness
  let google: GoogleOidcFake
  let legacy: LegacyStandIn
  let toss: TossFake
  let gw: TestGateway
  let iamGw: TestGateway

  const configFor = (env: Record<string, string>) =>
    loadConfig({
      LEGACY_FUNCTIONS_URL: legacy.functionsUrl,
      SCHEDULER_AUDIENCE: AUDIENCE,
      SCHEDULER_SERVICE_ACCOUNT: SCHEDULER,
      GOOGLE_OIDC_JWKS_URL: google.jwksUrl,
      TOSS_SECRET_KEY: toss.secretKey,
      TOSS_API_URL: toss.url,
      ...env,
    })
  const factories: JobFactory[] = [
    refundRetryJob,
    fundingClockJob,
    fundingChargesJob,
    counterJob,
    chunkedJob,
    failingJob,
  ]
  const gatewayWith = (env: Record<string, string> = {}) => {
    const deps = schedulerDeps({
      config: configFor(env),
      logger,
      db: h.db,
      jobFactories: factories,
    })
    if (!deps) throw new Error('scheduler route not configured')
    return startTestGateway(legacy.functionsUrl, {
      native: { 'scheduled-dispatcher': createScheduledDispatcher(deps) },
      flags: { 'scheduled-dispatcher': { native: 100 } },
    })
  }

  beforeAll(async () => {
    h = await postgresHarness()
    await seedCatalog(h)
    google = await startGoogleOidcFake()
    legacy = await startLegacyStandIn()
    toss = await startTossFake()
    gw = await gatewayWith()
    iamGw = await gatewayWith({ SCHEDULER_AUTH: 'iam' })
  })
  afterAll(async () => {
    await gw?.close()
    await iamGw?.close()
    await toss?.close()
    await legacy?.close()
    await google?.close()
    await h?.close()
  })

  const runs = (name?: string) =>
    h.sql<{
      id: string
      status: string
      counts: Record<string, number>
      error: string | null
      trigger: string
    }>(
      `select id, status, counts, error, trigger from public.job_runs ${name ? 'where name = $1' : ''} order by id`,
      name ? [name] : [],
    )
  const dispatch = (token: string | undefined, body: unknown = {}, target = gw) =>
    fetch(`${target.url}${PATH}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    })
  const goodToken = () => google.token({ audience: AUDIENCE, email: SCHEDULER })

  it('runs the named job for a Cloud Scheduler OIDC token and records the run', async () => {
    const res = await dispatch(await goodToken(), { jobs: ['counter'] })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-bff-backend')).toBe('native')
    const body = (await res.json()) as {
      runs: Array<{ job: string; status: string; counts: unknown }>
    }
    expect(body.runs).toEqual([
      expect.objectContaining({ job: 'counter', status: 'done', counts: { ran: 1 } }),
    ])
    const history = await runs('counter')
    expect(history).toHaveLength(1)
    expect(history[0]).toMatchObject({ status: 'done', counts: { ran: 1 }, trigger: 'scheduler' })
    expect(google.fetches).toBeGreaterThan(0)
  })

  it('selects the jobs of a cron expression', async () => {
    const before = calls.counter
    const res = await dispatch(await goodToken(), { cron: '*/5 * * * *' })
    expect(res.status).toBe(200)
    const body = (await res.json()) as { runs: Array<{ job: string }> }
    expect(body.runs.map((r) => r.job)).toEqual(['counter'])
    expect(calls.counter).toBe(before + 1)
  })

  it.each([
    ['no token', async () => undefined, 401, 'authentication-required'],
    ['a Supabase service-role JWT', () => serviceToken(), 401, 'invalid-token'],
    [
      'another audience',
      () => google.token({ audience: 'https://other.example.com', email: SCHEDULER }),
      401,
      'invalid-token',
    ],
    [
      'another issuer',
      () =>
        google.token({ audience: AUDIENCE, email: SCHEDULER, issuer: 'https://evil.example.com' }),
      401,
      'invalid-token',
    ],
    [
      'an expired token',
      () => google.token({ audience: AUDIENCE, email: SCHEDULER, expiresInSeconds: -300 }),
      401,
      'token-expired',
    ],
    [
      'a key Google never published',
      () => google.token({ audience: AUDIENCE, email: SCHEDULER, foreignKey: true }),
      401,
      'invalid-token',
    ],
    [
      'another service account',
      () =>
        google.token({ audience: AUDIENCE, email: 'intruder@project-id.iam.gserviceaccount.com' }),
      403,
      'forbidden-role',
    ],
    [
      'an unverified email',
      () => google.token({ audience: AUDIENCE, email: SCHEDULER, emailVerified: false }),
      403,
      'forbidden-role',
    ],
  ])('refuses %s and runs nothing', async (_name, token, status, code) => {
    const before = (await runs()).length
    const res = await dispatch(await token(), { jobs: ['counter'] })
    expect(res.status).toBe(status)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    expect(((await res.json()) as { code: string }).code).toBe(code)
    expect(await runs()).toHaveLength(before)
  })

  it.each([
    [{ jobs: ['no-such-job'] }, 'jobs.0'],
    [{ jobs: 'counter' }, 'jobs'],
    [{ jobs: ['counter'], cron: '*/5 * * * *' }, 'cron'],
    [{ cron: 'every minute' }, 'cron'],
    [{ job: 'counter' }, '(root)'],
  ])('answers 422 naming the field for %j and runs nothing', async (body, field) => {
    const before = (await runs()).length
    const res = await dispatch(await goodToken(), body)
    expect(res.status).toBe(422)
    const problem = (await res.json()) as { errors: Array<{ field: string }> }
    expect(problem.errors.map((e) => e.field)).toContain(field)
    expect(await runs()).toHaveLength(before)
  })

  it('answers 400 for a body that is not JSON', async () => {
    const res = await dispatch(await goodToken(), '{"jobs":')
    expect(res.status).toBe(400)
    expect(((await res.json()) as { errors: Array<{ field: string }> }).errors[0]?.field).toBe(
      '(body)',
    )
  })

  it('runs a job once when triggers overlap; the others are skipped', async () => {
    let open: () => void = () => {}
    gate = new Promise<void>((resolve) => {
      open = resolve
    })
    const before = calls.counter
    const token = await goodToken()
    let answered = 0
    const pending = Array.from({ length: 4 }, () =>
      dispatch(token, { jobs: ['counter'] }).then(async (res) => {
        expect(res.status).toBe(200)
        const run = ((await res.json()) as { runs: Array<{ status: string; heldBy?: string }> })
          .runs[0]
        answered++
        return run
      }),
    )
    // The run holds the lease until the gate opens; the three other triggers answer meanwhile.
    for (let i = 0; i < 200 && answered < 3; i++) await new Promise((r) => setTimeout(r, 25))
    open()
    const answers = await Promise.all(pending)
    gate = Promise.resolve()
    expect(calls.counter).toBe(before + 1)
    expect(answers.filter((a) => a?.status === 'done')).toHaveLength(1)
    expect(answers.filter((a) => a?.status === 'skipped')).toHaveLength(3)
    expect(answers.find((a) => a?.status === 'skipped')?.heldBy).toMatch(/^gw:/)
  })

  it('stops at its budget as partial and resumes from its saved cursor next time', async () => {
    const token = await goodToken()
    const first = (await (await dispatch(token, { jobs: ['chunked'] })).json()) as {
      runs: Array<{ status: string; counts: { processed: number; remaining: number } }>
    }
    expect(first.runs[0]?.status).toBe('partial')
    const firstProcessed = first.runs[0]?.counts.processed ?? 0
    expect(firstProcessed).toBeGreaterThan(0)
    expect(firstProcessed).toBeLessThan(20)
    let remaining = first.runs[0]?.counts.remaining ?? 0
    let total = firstProcessed
    for (let i = 0; i < 20 && remaining > 0; i++) {
      const next = (await (await dispatch(token, { jobs: ['chunked'] })).json()) as {
        runs: Array<{ status: string; counts: { processed: number; remaining: number } }>
      }
      total += next.runs[0]?.counts.processed ?? 0
      remaining = next.runs[0]?.counts.remaining ?? 0
    }
    // Each item was processed once across the runs: resumed, never restarted.
    expect(total).toBe(20)
    expect(remaining).toBe(0)
    const history = await runs('chunked')
    expect(history.at(-1)?.status).toBe('done')
    expect(history.slice(0, -1).every((r) => r.status === 'partial')).toBe(true)
  })

  it('records a failing job with a masked error and answers 500', async () => {
    const res = await dispatch(await goodToken(), { jobs: ['failing'] })
    expect(res.status).toBe(500)
    const problem = (await res.json()) as { code: string; runs: Array<{ status: string }> }
    expect(problem.code).toBe('job-failed')
    expect(problem.runs[0]?.status).toBe('failed')
    const [run] = await runs('failing')
    expect(run?.status).toBe('failed')
    expect(run?.error).toContain('Error: could not reach')
    expect(run?.error).not.toContain('someone@example.com')
    expect(run?.error).not.toContain('1234-5678')
    // The next trigger is not blocked: the lease was freed.
    const again = await dispatch(await goodToken(), { jobs: ['failing'] })
    expect(again.status).toBe(500)
    expect(await runs('failing')).toHaveLength(2)
  })

  it('closes a run whose lease expired as abandoned and runs the job again', async () => {
    const acquired = await h.db.call<{ acquired: boolean; runId: number }>('job_lease_acquire', {
      p_name: 'counter',
      p_holder: 'dead-instance',
      p_ttl_seconds: 60,
      p_trigger: 'test',
    })
    expect(acquired.acquired).toBe(true)
    const held = await dispatch(await goodToken(), { jobs: ['counter'] })
    expect(((await held.json()) as { runs: Array<{ status: string }> }).runs[0]?.status).toBe(
      'skipped',
    )
    await h.sql(
      `update public.job_leases set expires_at = now() - interval '1 second' where name = 'counter'`,
    )
    const res = await dispatch(await goodToken(), { jobs: ['counter'] })
    expect(((await res.json()) as { runs: Array<{ status: string }> }).runs[0]?.status).toBe('done')
    const [dead] = await h.sql<{ status: string }>(
      'select status from public.job_runs where id = $1',
      [acquired.runId],
    )
    expect(dead?.status).toBe('abandoned')
  })

  it('resends a pending refund through the refund-retry job, once', async () => {
    const payment = await seedPayment(h.db)
    toss.seed({
      paymentKey: payment.paymentKey,
      orderId: payment.orderId,
      totalAmount: payment.amount,
    })
    const refund = await h.db.call<{ refundId: string }>('refund_reserve', {
      p_payment_key: payment.paymentKey,
      p_user_id: null,
      p_amount: null,
      p_reason: '고객 요청',
      p_is_ops: true,
      p_client_key: null,
      p_refund_account: null,
      p_now: new Date().toISOString(),
    })
    await h.sql(
      `update public.refunds set created_at = now() - interval '5 minutes' where id = $1`,
      [refund.refundId],
    )
    const token = await goodToken()
    const res = await dispatch(token, { jobs: ['refund-retry'] })
    expect(res.status).toBe(200)
    const body = (await res.json()) as { runs: Array<{ counts: Record<string, number> }> }
    expect(body.runs[0]?.counts).toMatchObject({ done: 1, failed: 0, stillPending: 0 })
    const [row] = await h.sql<{ status: string }>(
      'select status from public.refunds where id = $1',
      [refund.refundId],
    )
    expect(row?.status).toBe('done')
    const again = (await (await dispatch(token, { jobs: ['refund-retry'] })).json()) as {
      runs: Array<{ counts: Record<string, number> }>
    }
    expect(again.runs[0]?.counts).toMatchObject({ done: 0 })
    expect(toss.cancelCount).toBe(1)
  })

  it('runs the funding jobs of the every-minute tick', async () => {
    const res = await dispatch(await goodToken(), { cron: '* * * * *' })
    expect(res.status).toBe(200)
    const body = (await res.json()) as {
      runs: Array<{ job: string; status: string; counts: Record<string, number> }>
    }
    expect(body.runs.map((r) => r.job).sort()).toEqual(['funding-charges', 'funding-clock'])
    expect(body.runs.every((r) => r.status === 'done')).toBe(true)
    expect(body.runs.find((r) => r.job === 'funding-clock')?.counts).toMatchObject({
      wentLive: 0,
      ended: 0,
    })
    expect(body.runs.find((r) => r.job === 'funding-charges')?.counts).toMatchObject({ charged: 0 })
  })

  describe('behind IAM-enforced Cloud Run', () => {
    it('accepts the forwarded token whose signature Google removed, checking its claims', async () => {
      const res = await dispatch(
        google.iamForwarded(await goodToken()),
        { jobs: ['counter'] },
        iamGw,
      )
      expect(res.status).toBe(200)
    })

    it('refuses a token that did not pass through Cloud Run, and wrong claims', async () => {
      expect((await dispatch(await goodToken(), { jobs: ['counter'] }, iamGw)).status).toBe(401)
      const other = google.iamForwarded(
        await google.token({ audience: 'https://other.example.com', email: SCHEDULER }),
      )
      expect((await dispatch(other, { jobs: ['counter'] }, iamGw)).status).toBe(401)
      const intruder = google.iamForwarded(
        await google.token({ audience: AUDIENCE, email: 'x@project-id.iam.gserviceaccount.com' }),
      )
      expect((await dispatch(intruder, { jobs: ['counter'] }, iamGw)).status).toBe(403)
    })
  })

  it("answers 503 when Google's key set cannot be fetched, and runs nothing", async () => {
    const down = await gatewayWith({ GOOGLE_OIDC_JWKS_URL: 'http://127.0.0.1:9/oauth2/v3/certs' })
    try {
      const before = (await runs()).length
      const res = await dispatch(await goodToken(), { jobs: ['counter'] }, down)
      expect(res.status).toBe(503)
      expect(((await res.json()) as { code: string }).code).toBe('jwks-unavailable')
      expect(await runs()).toHaveLength(before)
    } finally {
      await down.close()
    }
  })

  it('wrote no personal data in a log line', () => {
    const text = logLines.join('\n')
    expect(text).not.toContain('someone@example.com')
    expect(text).not.toContain('1234-5678')
  })
})
