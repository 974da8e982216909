/**
 * A gateway with every native route it can build, in front of the legacy stand-in, on a
 * temporary PostgreSQL database: what parity runs against in CI.
 */
import { nativeHandlers, ROUTES } from '../../routes/index.js'
import { exceljsXlsxWriter } from '../../routes/settlement/export-xlsx-node.js'
import { fontFromPackage } from '../../routes/settlement/font-node.js'
import type { ParityOptions } from '../../scripts/parity/runner.js'
import {
  mintParityTokens,
  PARITY_OTHER_USER_ID,
  PARITY_USER_ID,
} from '../../scripts/parity/tokens.js'
import { loadConfig } from '../../src/config.js'
import { rolloutControl } from '../../src/entries/rollout-control.js'
import { createLogger } from '../../src/observability/log.js'
import { Metrics } from '../../src/observability/metrics.js'
import { memoryAuditTrail } from '../../src/rollout/audit.js'
import { mintCanaryToken } from '../../src/rollout/canary.js'
import { compileFlags } from '../../src/rollout/flags.js'
import { memoryFlagStore } from '../../src/rollout/stores/memory.js'
import { flagRulesFor } from '../../src/route-table.js'
import { createRateLimiter } from '../../src/security/ratelimit/index.js'
import type { RateLimiter } from '../../src/types.js'
import { type FakeAnthropic, startFakeAnthropic, systemText } from '../fakes/anthropic.js'
import { startTossFake, type TossFake } from '../fakes/toss.js'
import { startTestGateway, type TestGateway } from '../helpers/gateway.js'
import { TEST_JWT_SECRET } from '../helpers/tokens.js'
import { type Harness, postgresHarness } from '../integration/db-harness.js'
import { hs256User } from './legacy-kit.js'
import { type ParityLegacy, startParityLegacy } from './legacy-stand-in.js'

export const PARITY_CANARY_SECRET = 'parity-canary-secret-0123456789abcdef'
export const PARITY_ADMIN_TOKEN = 'parity-admin-token-0123456789abcdef'

/** Model answers in the shape each AI route asks for, so both sides answer from the model. */
function modelAnswer(req: Parameters<typeof systemText>[0]): string {
  const system = systemText(req)
  if (/poll/i.test(system)) {
    return JSON.stringify({
      polls: [1, 2, 3, 4, 5].map((n) => ({
        question: `질문 ${n}?`,
        options: ['하나', '둘', '셋', '넷'],
      })),
    })
  }
  return JSON.stringify({
    suggestions: ['고마워요!', '좋은 하루 보내세요', '응원 감사해요', '또 만나요', '최고예요'],
  })
}

/** Rate limits are the gateway's own and the same for both backends: widened so a run is not throttled. */
function widened(inner: RateLimiter): RateLimiter {
  return {
    kind: inner.kind,
    limit: (routeId, identifier, policy) =>
      inner.limit(routeId, identifier, { ...policy, limit: policy.limit * 1000 }),
  }
}

export interface ParityHarness {
  db: Harness
  toss: TossFake
  anthropic: FakeAnthropic
  legacy: ParityLegacy
  gateway: TestGateway
  /** Native-capable routes of this gateway. */
  nativeRoutes: string[]
  options(): Promise<ParityOptions>
  close(): Promise<void>
}

export async function startParityHarness(): Promise<ParityHarness> {
  const db = await postgresHarness()
  const toss = await startTossFake()
  const anthropic = await startFakeAnthropic({ mode: { kind: 'normal', text: modelAnswer } })
  const legacy = await startParityLegacy({
    db: db.db,
    toss: { url: toss.url, secretKey: toss.secretKey },
    user: hs256User(TEST_JWT_SECRET),
  })
  const env = {
    APP_ENV: 'staging',
    BFF_CANARY_SECRET: PARITY_CANARY_SECRET,
    LEGACY_FUNCTIONS_URL: legacy.functionsUrl,
    SUPABASE_JWT_SECRET: TEST_JWT_SECRET,
    TOSS_SECRET_KEY: toss.secretKey,
    TOSS_API_URL: toss.url,
    ANTHROPIC_API_KEY: anthropic.apiKey,
    ANTHROPIC_BASE_URL: anthropic.url,
    BFF_ADMIN_TOKEN: PARITY_ADMIN_TOKEN,
  }
  const config = loadConfig(env)
  const logger = createLogger({ level: 'error', write: () => {} })
  const native = nativeHandlers({
    config,
    logger,
    metrics: new Metrics(),
    db: db.db,
    resources: { 'settlement.font': fontFromPackage(), 'settlement.xlsx': exceljsXlsxWriter },
  })
  // Rollout control as the entries build it (in-process store and trail): parity runs are
  // reported to its progress view.
  const rules = flagRulesFor(ROUTES, native)
  const control = rolloutControl({
    config,
    file: compileFlags({ routes: {} }, rules, 'test', 'test'),
    rules,
    store: memoryFlagStore(),
    audit: memoryAuditTrail(),
    logger,
    metrics: new Metrics(),
  })
  const gateway = await startTestGateway(legacy.functionsUrl, {
    env,
    native,
    extra: {
      flags: control.flags,
      rollout: control.hooks,
      shadow: control.shadow,
      mount: control.mount,
      rateLimiter: widened(
        createRateLimiter({ store: 'memory', timeoutMs: 1000, prefix: `parity-${Date.now()}` }),
      ),
    },
  })
  return {
    db,
    toss,
    anthropic,
    legacy,
    gateway,
    nativeRoutes: Object.keys(native).sort(),
    async options() {
      return {
        gatewayUrl: gateway.url,
        canaryToken: await mintCanaryToken(PARITY_CANARY_SECRET, 600),
        tokens: await mintParityTokens(TEST_JWT_SECRET),
        vars: { userId: PARITY_USER_ID, otherUserId: PARITY_OTHER_USER_ID },
        services: { sql: db.sql, db: db.db, toss },
      }
    },
    async close() {
      await gateway.close()
      await legacy.close()
      await anthropic.close()
      await toss.close()
      await db.close()
    },
  }
}
