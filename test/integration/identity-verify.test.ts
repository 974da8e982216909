import { randomBytes, randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  identity,
  identityCrypto,
  isCreatorVerified,
  rotateIdentityKeys,
  sealAad,
} from '../../routes/identity/index.js'
import { loadConfig } from '../../src/config.js'
import { createLogger } from '../../src/observability/log.js'
import { Metrics } from '../../src/observability/metrics.js'
import { type LegacyStandIn, startLegacyStandIn } from '../fakes/legacy-functions.js'
import { fakeCi, fakeDi, type PortOneFake, startPortOneFake } from '../fakes/portone.js'
import { startTestGateway, type TestGateway } from '../helpers/gateway.js'
import { TEST_JWT_SECRET, userToken } from '../helpers/tokens.js'
import { type Harness, postgresHarness } from './db-harness.js'

const key = () => randomBytes(32).toString('base64')
const K1 = `k1:${key()}`
const HASH_KEY = 'identity-hash-key-0123456789abcdef-0123'
const PATH = '/functions/v1/verify-identity'

describe('verify-identity with the PortOne stand-in and PostgreSQL', () => {
  let h: Harness
  let portone: PortOneFake
  let legacy: LegacyStandIn
  let gw: TestGateway
  const logs: Record<string, unknown>[] = []
  const logLines: string[] = []
  const personal: string[] = []

  beforeAll(async () => {
    h = await postgresHarness()
    portone = await startPortOneFake()
    legacy = await startLegacyStandIn()
    const config = loadConfig({
      LEGACY_FUNCTIONS_URL: legacy.functionsUrl,
      SUPABASE_JWT_SECRET: TEST_JWT_SECRET,
      PORTONE_API_SECRET: portone.secret,
      PORTONE_STORE_ID: portone.storeId,
      PORTONE_API_URL: portone.url,
      IDENTITY_CI_KEYS: K1,
      IDENTITY_CI_HASH_KEY: HASH_KEY,
      IDENTITY_MAX_AGE_SECONDS: '600',
    })
    const logger = createLogger({ level: 'debug', write: (line) => logLines.push(line) })
    const native = identity.nativeHandlers({ config, logger, metrics: new Metrics(), db: h.db })
    expect(Object.keys(native)).toEqual(['verify-identity'])
    gw = await startTestGateway(legacy.functionsUrl, {
      native,
      flags: { 'verify-identity': { native: 100 } },
      logs,
    })
  })
  afterAll(async () => {
    await gw?.close()
    await legacy?.close()
    await portone?.close()
    await h?.close()
  })

  const verify = async (user: string, body: unknown) =>
    fetch(`${gw.url}${PATH}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await userToken(user)}`,
        'content-type': 'application/json',
      },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    })
  const problem = async (res: Response) => {
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    return (await res.json()) as {
      code: string
      errors?: Array<{ field: string }>
      flagId?: number
    }
  }
  const counts = async () => {
    const [row] = await h.sql<{ v: string; u: string; f: string }>(
      `select (select count(*) from public.identity_verifications) as v,
              (select count(*) from public.identity_verification_uses) as u,
              (select count(*) from public.identity_duplicate_flags) as f`,
    )
    return row
  }
  /** A verified record for a new user; its personal data is remembered for the log scan. */
  const seedVerified = (
    userId: string,
    overrides: Parameters<PortOneFake['verified']>[1] = {},
    at?: Date,
  ) => {
    const id = `identity-verification-${randomUUID()}`
    const ci = overrides.ci === undefined ? fakeCi(id) : overrides.ci
    const di = fakeDi(id)
    const name = overrides.name ?? '김민수'
    const birthDate = overrides.birthDate ?? '1991-03-04'
    const phoneNumber = '01098765432'
    if (ci) personal.push(ci)
    personal.push(di, name, birthDate, phoneNumber)
    portone.verified(
      id,
      { customerId: userId, ci, di, name, birthDate, phoneNumber, ...overrides },
      at,
    )
    return { id, ci: ci ?? '' }
  }

  it('verifies, stores only ciphertext and a CI hash, and answers adult by the KST year rule', async () => {
    const user = randomUUID()
    const { id, ci } = seedVerified(user)
    const res = await verify(user, { identityVerificationId: id })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ verified: true, provider: 'portone', adult: true })
    expect(portone.requests.at(-1)?.path).toBe(`/identity-verifications/${id}`)

    const [row] = await h.sql<Record<string, string>>(
      'select * from public.identity_verifications where user_id = $1',
      [user],
    )
    const stored = JSON.stringify(row)
    for (const secret of [ci, '김민수', '1991-03-04', '01098765432'])
      expect(stored).not.toContain(secret)
    expect(row?.birth_year).toBe(1991)
    const crypto = identityCrypto({ keys: K1, hashKey: HASH_KEY })
    expect(row?.ci_hash).toBe(await crypto.ciHash(ci))
    const opened = await crypto.open<{ ci: string; name: string }>(
      { keyId: String(row?.pii_key_id), ciphertext: String(row?.pii_ciphertext) },
      sealAad(user),
    )
    expect(opened).toMatchObject({ ci, name: '김민수', birthDate: '1991-03-04' })
    // Bound to the user: the record does not open as someone else's.
    await expect(
      crypto.open({ keyId: 'k1', ciphertext: String(row?.pii_ciphertext) }, sealAad(randomUUID())),
    ).rejects.toThrow()
    // A new current key still opens records sealed with the old one (rotation).
    const rotated = identityCrypto({ keys: `k2:${key()},${K1}`, hashKey: HASH_KEY })
    expect(rotated.currentKeyId).toBe('k2')
    await expect(
      rotated.open({ keyId: 'k1', ciphertext: String(row?.pii_ciphertext) }, sealAad(user)),
    ).resolves.toMatchObject({ ci })

    const status = await fetch(`${gw.url}${PATH}`, {
      headers: { authorization: `Bearer ${await userToken(user)}` },
    })
    expect(await status.json()).toMatchObject({
      verified: true,
      adult: true,
      openDuplicateFlags: 0,
    })
    expect(await isCreatorVerified(h.db, user)).toBe(true)
    expect(await isCreatorVerified(h.db, randomUUID())).toBe(false)
  })

  it('answers adult false for someone turning 19 next year (KST)', async () => {
    const user = randomUUID()
    const kstYear = new Date(Date.now() + 9 * 3600_000).getUTCFullYear()
    const { id } = seedVerified(user, { birthDate: `${kstYear - 18}-01-01` })
    const res = await verify(user, { identityVerificationId: id })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ verified: true, adult: false })
  })

  it.each([
    ['FAILED', 'failed' as const],
    ['READY', 'ready' as const],
  ])('refuses a %s verification and writes nothing', async (_status, kind) => {
    const user = randomUUID()
    const id = `identity-verification-${randomUUID()}`
    portone[kind](id, user)
    const before = await counts()
    const res = await verify(user, { identityVerificationId: id })
    expect(res.status).toBe(422)
    const p = await problem(res)
    expect(p.code).toBe('verification-not-verified')
    expect(p.errors?.[0]?.field).toBe('identityVerificationId')
    expect(await counts()).toEqual(before)
  })

  it("refuses another user's verification and writes nothing", async () => {
    const owner = randomUUID()
    const { id } = seedVerified(owner)
    const before = await counts()
    const res = await verify(randomUUID(), { identityVerificationId: id })
    expect(res.status).toBe(403)
    expect((await problem(res)).code).toBe('verification-other-user')
    expect(await counts()).toEqual(before)
  })

  it('refuses a verification requested without a customer id', async () => {
    const user = randomUUID()
    const id = `identity-verification-${randomUUID()}`
    portone.verified(id, { name: '이영희' })
    personal.push('이영희')
    expect((await problem(await verify(user, { identityVerificationId: id }))).code).toBe(
      'verification-other-user',
    )
  })

  it('refuses a reused verification id', async () => {
    const user = randomUUID()
    const { id } = seedVerified(user)
    expect((await verify(user, { identityVerificationId: id })).status).toBe(200)
    const again = await verify(user, { identityVerificationId: id })
    expect(again.status).toBe(409)
    expect((await problem(again)).code).toBe('verification-reused')
  })

  it('refuses an expired verification and writes nothing', async () => {
    const user = randomUUID()
    const { id } = seedVerified(user, {}, new Date(Date.now() - 3600_000))
    const before = await counts()
    const res = await verify(user, { identityVerificationId: id })
    expect(res.status).toBe(422)
    expect((await problem(res)).code).toBe('verification-expired')
    expect(await counts()).toEqual(before)
  })

  it('refuses a verification without CI (a channel that does not deliver it)', async () => {
    const user = randomUUID()
    const { id } = seedVerified(user, { ci: null })
    const res = await verify(user, { identityVerificationId: id })
    expect(res.status).toBe(422)
    expect((await problem(res)).code).toBe('verification-incomplete')
  })

  it('answers 404 for an id the provider does not know', async () => {
    const res = await verify(randomUUID(), {
      identityVerificationId: 'identity-verification-unknown',
    })
    expect(res.status).toBe(404)
    expect((await problem(res)).code).toBe('verification-not-found')
  })

  it('flags the same CI on a second account for ops and answers a clear 409', async () => {
    const first = randomUUID()
    const second = randomUUID()
    const a = seedVerified(first)
    expect((await verify(first, { identityVerificationId: a.id })).status).toBe(200)
    const b = seedVerified(second, { ci: a.ci })
    const res = await verify(second, { identityVerificationId: b.id })
    expect(res.status).toBe(409)
    const p = await problem(res)
    expect(p.code).toBe('identity-already-linked')
    const flags = await h.sql<{ id: string; existing_user_id: string }>(
      'select id, existing_user_id from public.identity_duplicate_flags where user_id = $1',
      [second],
    )
    expect(flags).toHaveLength(1)
    expect(flags[0]?.existing_user_id).toBe(first)
    expect(Number(p.flagId)).toBe(Number(flags[0]?.id))
    expect(await isCreatorVerified(h.db, second)).toBe(false)
    expect(await isCreatorVerified(h.db, first)).toBe(true)
  })

  it('lets only one of two accounts verifying the same CI at once through', async () => {
    const users = [randomUUID(), randomUUID()]
    const ci = fakeCi(randomUUID())
    const ids = users.map((u) => seedVerified(u, { ci }).id)
    const answers = await Promise.all(
      users.map((u, i) => verify(u, { identityVerificationId: ids[i] })),
    )
    expect(answers.map((r) => r.status).sort()).toEqual([200, 409])
  })

  it.each([
    [{}, 'identityVerificationId'],
    [{ identityVerificationId: 'has spaces' }, 'identityVerificationId'],
    [{ identityVerificationId: 'x'.repeat(201) }, 'identityVerificationId'],
    [{ identityVerificationId: 'ok', extra: 1 }, '(root)'],
  ])('answers 422 naming the field for %j and writes nothing', async (body, field) => {
    const before = await counts()
    const res = await verify(randomUUID(), body)
    expect(res.status).toBe(422)
    expect((await problem(res)).errors?.map((e) => e.field)).toContain(field)
    expect(await counts()).toEqual(before)
  })

  it('answers 400 for a body that is not JSON', async () => {
    const res = await verify(randomUUID(), '{')
    expect(res.status).toBe(400)
  })

  it('refuses a caller without a user token', async () => {
    const res = await fetch(`${gw.url}${PATH}`, { method: 'POST', body: '{}' })
    expect(res.status).toBe(401)
  })

  it('replays to legacy when PortOne is down, before anything is written', async () => {
    const user = randomUUID()
    const { id } = seedVerified(user)
    portone.setDown(true)
    try {
      const before = await counts()
      const res = await verify(user, { identityVerificationId: id })
      expect(res.headers.get('x-bff-backend')).toBe('legacy-fallback')
      expect(await counts()).toEqual(before)
    } finally {
      portone.setDown(false)
    }
  })

  it('re-encrypts every record with a new current key, which the old ring no longer needs', async () => {
    const k2 = `k2:${key()}`
    const rotated = identityCrypto({ keys: `${k2},${K1}`, hashKey: HASH_KEY })
    const result = await rotateIdentityKeys(h.db, rotated, { batch: 2 })
    const [row] = await h.sql<{ total: string; old: string }>(
      `select count(*) as total, count(*) filter (where pii_key_id = 'k1') as old
       from public.identity_verifications`,
    )
    expect(result.reencrypted).toBe(Number(row?.total))
    expect(Number(row?.old)).toBe(0)
    // Readable with the new key alone.
    const onlyNew = identityCrypto({ keys: k2, hashKey: HASH_KEY })
    const records = await h.sql<{ user_id: string; pii_ciphertext: string }>(
      'select user_id, pii_ciphertext from public.identity_verifications',
    )
    for (const r of records) {
      await expect(
        onlyNew.open({ keyId: 'k2', ciphertext: r.pii_ciphertext }, sealAad(r.user_id)),
      ).resolves.toHaveProperty('ci')
    }
  })

  it('wrote no CI, DI, name, phone or birth date in any log line', () => {
    const text = `${logLines.join('\n')}\n${logs.map((l) => JSON.stringify(l)).join('\n')}`
    expect(logLines.length + logs.length).toBeGreaterThan(10)
    for (const value of personal) expect(text).not.toContain(value)
  })
})
