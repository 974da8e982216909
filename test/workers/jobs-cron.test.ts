import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Miniflare } from 'miniflare'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type LegacyStandIn, startLegacyStandIn } from '../fakes/legacy-functions.js'
import { type PostgrestRpcFake, startPostgrestRpcFake } from '../fakes/postgrest-rpc.js'
import { startTossFake, type TossFake } from '../fakes/toss.js'
import { COMPATIBILITY_DATE } from '../helpers/workerd.js'
import {
  type Harness,
  postgresHarness,
  seedCatalog,
  seedPayment,
} from '../integration/db-harness.js'

/** Unsigned JWT-shaped key: the PostgREST stand-in reads its role claim as PostgREST would. */
const jwtShaped = (claims: Record<string, unknown>) =>
  `eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2ln`
const SERVICE_KEY = jwtShaped({ role: 'service_role' })
const ADMIN_TOKEN = 'worker-admin-token-0123456789abcdef'
const CRON = '*/10 * * * *'

/**
 * The deployable (wrangler's bundle of the Workers entry) and its `scheduled` handler in workerd
 * (Miniflare), on a real PostgreSQL reached
 * through the PostgREST stand-in, as `wrangler dev --test-scheduled` would trigger it.
 */
describe('Workers cron triggers in workerd', () => {
  let h: Harness
  let rest: PostgrestRpcFake
  let legacy: LegacyStandIn
  let toss: TossFake
  let mf: Miniflare
  let outdir: string

  beforeAll(async () => {
    h = await postgresHarness()
    await seedCatalog(h)
    rest = await startPostgrestRpcFake({
      connectionString: h.url as string,
      apiKeys: [SERVICE_KEY],
    })
    legacy = await startLegacyStandIn()
    toss = await startTossFake()
    outdir = await mkdtemp(join(tmpdir(), 'bff-cron-'))
    await promisify(execFile)(
      'npx',
      ['wrangler', 'deploy', '--dry-run', '--env', '', '--outdir', outdir],
      { env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true' } },
    )
    mf = new Miniflare({
      modules: true,
      script: await readFile(join(outdir, 'worker.js'), 'utf8'),
      compatibilityDate: COMPATIBILITY_DATE,
      compatibilityFlags: ['nodejs_compat'],
      bindings: {
        APP_ENV: 'development',
        LEGACY_FUNCTIONS_URL: legacy.functionsUrl,
        SUPABASE_URL: rest.url,
        SUPABASE_SERVICE_ROLE_KEY: SERVICE_KEY,
        BFF_ADMIN_TOKEN: ADMIN_TOKEN,
        SCHEDULER_AUDIENCE: 'https://gw.example.com/functions/v1/scheduled-dispatcher',
        SCHEDULER_SERVICE_ACCOUNT: 'scheduler@project-id.iam.gserviceaccount.com',
        TOSS_SECRET_KEY: toss.secretKey,
        TOSS_API_URL: toss.url,
      },
    })
    await mf.ready
  }, 180_000)
  afterAll(async () => {
    await mf?.dispose()
    await toss?.close()
    await legacy?.close()
    await rest?.close()
    await h?.close()
    if (outdir) await rm(outdir, { recursive: true, force: true })
  })

  const trigger = async (cron: string) => {
    const worker = await mf.getWorker()
    return worker.scheduled({ cron, scheduledTime: new Date() })
  }
  const cronRuns = () =>
    h.sql<{ name: string; status: string; counts: Record<string, number> }>(
      `select name, status, counts from public.job_runs where trigger = 'cron' order by id`,
    )
  const setFlag = async (native: number) => {
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }
    const table = (await (
      await mf.dispatchFetch('http://gw.test/admin/api/flags', { headers: auth })
    ).json()) as {
      version: string
    }
    const res = await mf.dispatchFetch('http://gw.test/admin/api/flags/scheduled-dispatcher', {
      method: 'PUT',
      headers: auth,
      body: JSON.stringify({ native, reason: 'cron test', version: table.version }),
    })
    expect(res.status).toBe(200)
  }

  it('at 0 % sends the tick to the legacy function with the service-role key', async () => {
    const before = legacy.received.length
    const result = await trigger(CRON)
    expect(result.outcome).toBe('ok')
    const sent = legacy.received.slice(before)
    expect(sent).toHaveLength(1)
    expect(sent[0]?.method).toBe('POST')
    expect(sent[0]?.url).toBe('/functions/v1/scheduled-dispatcher')
    expect(sent[0]?.headers.authorization).toBe(`Bearer ${SERVICE_KEY}`)
    expect(JSON.parse(sent[0]?.body.toString() ?? '{}')).toEqual({ cron: CRON })
    expect(await cronRuns()).toHaveLength(0)
  })

  it('at 100 % runs the jobs of the cron natively, once when two ticks overlap', async () => {
    await setFlag(100)
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
    // Toss answers slowly, so the first tick still holds the lease when the second arrives.
    toss.setMode({ kind: 'slow', delayMs: 700 })
    const legacyBefore = legacy.received.length
    const [a, b] = await Promise.all([trigger(CRON), trigger(CRON)])
    toss.setMode({ kind: 'normal' })
    expect(a.outcome).toBe('ok')
    expect(b.outcome).toBe('ok')
    expect(legacy.received.length).toBe(legacyBefore)
    const runs = await cronRuns()
    expect(runs).toHaveLength(1)
    expect(runs[0]).toMatchObject({ name: 'refund-retry', status: 'done', counts: { done: 1 } })
    expect(toss.cancelCount).toBe(1)
    const [row] = await h.sql<{ status: string }>(
      'select status from public.refunds where id = $1',
      [refund.refundId],
    )
    expect(row?.status).toBe('done')
  })

  it('runs nothing for a cron expression no job uses', async () => {
    const before = (await cronRuns()).length
    const result = await trigger('0 0 1 1 *')
    expect(result.outcome).toBe('ok')
    expect(await cronRuns()).toHaveLength(before)
  })
})
