import type { Logger } from '../../src/observability/log.js'
import type { Metrics } from '../../src/observability/metrics.js'
import type { Db } from '../../src/platform/db/port.js'
import type { AiClient } from './anthropic.js'
import type { AiOutcomeEvent } from './outcome.js'
import type { SecondOpinionOptions } from './second-opinion.js'
import type { PollTemplates, ReplyTemplates } from './templates.js'

/** What the AI suggestion routes need; built once by the entries and shared by both routes. */
export interface AiDeps {
  /** Quotas and usage (`supabase/migrations/0002_ai_quotas.sql`). */
  db: Db
  /** Anthropic with breakers and the model fallback (`createAnthropicClient`). */
  anthropic: AiClient
  logger: Logger
  /** Counters `bff_ai_suggestions_total` and `bff_ai_tokens_total` are registered here. */
  metrics?: Metrics
  /** Called once per answered request (metrics wiring without a registry, tests). */
  onOutcome?: (event: AiOutcomeEvent) => void
  /** Override the built-in (Korean-first) template answers. */
  templates?: { reply?: ReplyTemplates; poll?: PollTemplates }
  /** Quota units one request costs; 1 by default. */
  quotaCost?: number
  clock?: () => number
  /** Review by the cheaper model of what the guard let through (off unless enabled). */
  secondOpinion?: SecondOpinionOptions
}
