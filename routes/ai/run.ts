import { requireUserId } from '../../src/kit/caller.js'
import { errorFields } from '../../src/observability/log.js'
import { withEffect } from '../../src/platform/effect.js'
import type { AppContext } from '../../src/types.js'
import type { AiResult, FallbackReason } from './anthropic.js'
import type { AiDeps } from './deps.js'
import type { BuiltPrompt, DroppedItem } from './guard/index.js'
import type { AiOutcomeEvent } from './outcome.js'
import { type AiFeature, consumeQuota } from './quota.js'
import { type SecondOpinion, type SecondOpinionOptions, secondOpinion } from './second-opinion.js'

/** Fewer valid items than this, after repair, counts as a failed answer (half, rounded up). */
export const minimumOf = (count: number) => Math.ceil(count / 2)

/** What a suggestion route asks the shared pipeline to do. */
export interface SuggestionJob<T> {
  feature: AiFeature
  /** Response property holding the items (`suggestions`, `polls`). */
  key: string
  prompt: BuiltPrompt
  maxTokens: number
  /** Shape of the answer, for structured output. */
  jsonSchema: Record<string, unknown>
  /** Validate and repair the model's text; `ok: false` sends the chain to its next step. */
  validate: (
    text: string,
  ) => { ok: true; items: T[]; dropped: DroppedItem[] } | { ok: false; dropped: DroppedItem[] }
  template: () => T[]
  /** Every user-visible string of an item, for the second opinion. */
  texts?: (item: T) => string[]
  /** Fewer items than this after the second opinion falls back to the template. */
  min?: number
}

/** `meta` of every answer: which model answered, or that a template did and why. */
export interface SuggestionMeta {
  model: string
  source: 'ai' | 'template'
  fallback?: FallbackReason
}

/**
 * The pipeline both AI routes share: quota (1 unit, before the model), model chain with the
 * output guard, template as the last step, usage row, log fields and metrics. The response
 * always says in `meta` where the items came from.
 */
export async function runSuggestion<T>(
  c: AppContext,
  deps: AiDeps,
  record: (event: AiOutcomeEvent) => void,
  job: SuggestionJob<T>,
): Promise<Response> {
  const userId = requireUserId(
    c,
    'AI suggestions are counted against a user quota; sign in as a user to use them.',
  )
  const now = deps.clock ?? Date.now
  let dropped = 0
  let remaining: number | undefined
  let result: AiResult<T[]>

  if (!deps.anthropic.available()) {
    // Every breaker is open: no model will be called, so the user is not charged.
    result = {
      source: 'template',
      fallback: 'breaker-open',
      usage: { inputTokens: 0, outputTokens: 0 },
      attempts: [],
    }
  } else {
    // Quota is about to be spent and the model called: replaying to legacy would charge twice.
    remaining = await withEffect(c, 'ai-quota', () =>
      consumeQuota(deps.db, {
        userId,
        feature: job.feature,
        cost: deps.quotaCost ?? 1,
        now: now(),
      }),
    )
    result = await deps.anthropic.complete({
      system: job.prompt.system,
      messages: job.prompt.messages,
      maxTokens: job.maxTokens,
      jsonSchema: job.jsonSchema,
      signal: c.req.raw.signal,
      trace: c.get('trace'),
      accept: (text) => {
        const checked = job.validate(text)
        dropped += checked.dropped.length
        return checked.ok ? checked.items : undefined
      },
    })
  }

  let opinion: SecondOpinion | undefined
  if (result.source === 'ai' && deps.secondOpinion?.enabled && job.texts) {
    const checked = await reviewed(c, deps, job, result.value)
    opinion = checked.opinion
    dropped += result.value.length - checked.items.length
    if (checked.items.length >= (job.min ?? 1)) {
      result = { ...result, value: checked.items }
    } else {
      const { usage, attempts } = result
      result = { source: 'template', fallback: 'invalid-output', usage, attempts }
    }
  }

  const items = result.source === 'ai' ? result.value : job.template()
  const model = result.source === 'ai' ? result.model : 'template'
  const fallback = result.fallback
  const meta: SuggestionMeta = { model, source: result.source, ...(fallback ? { fallback } : {}) }

  await recordUsage(c, deps, { userId, feature: job.feature, model, result })
  c.set('logFields', {
    ...c.var.logFields,
    aiFeature: job.feature,
    model,
    // Prefixed: the gateway's own `fallback` log field means a replay to legacy.
    aiSource: result.source,
    aiFallback: fallback,
    inputTokens: result.usage.inputTokens,
    outputTokens: result.usage.outputTokens,
    aiAttempts: result.attempts.map((a) => `${a.model}:${a.outcome}`).join(','),
    aiDropped: dropped,
    quotaRemaining: remaining,
    ...(opinion
      ? {
          aiSecondOpinion: opinion.outcome,
          aiSecondOpinionTokens: opinion.inputTokens + opinion.outputTokens,
        }
      : {}),
  })
  record({
    feature: job.feature,
    source: result.source,
    model,
    fallback,
    inputTokens: result.usage.inputTokens,
    outputTokens: result.usage.outputTokens,
    attempts: result.attempts,
    dropped,
  })

  const headers: Record<string, string> = { 'cache-control': 'no-store' }
  if (remaining !== undefined) headers['x-ai-quota-remaining'] = String(remaining)
  return c.json({ [job.key]: items, meta }, 200, headers)
}

/** A usage row per answer; losing one must not fail an answer the user was already charged for. */
async function recordUsage<T>(
  c: AppContext,
  deps: AiDeps,
  {
    userId,
    feature,
    model,
    result,
  }: { userId: string; feature: AiFeature; model: string; result: AiResult<T> },
): Promise<void> {
  try {
    await deps.db.call('ai_usage_record', {
      p_request_id: c.var.requestId,
      p_user_id: userId,
      p_feature: feature,
      p_model: model,
      p_source: result.source,
      p_input_tokens: result.usage.inputTokens,
      p_output_tokens: result.usage.outputTokens,
      p_fallback_reason: result.fallback ?? null,
    })
  } catch (error) {
    deps.logger.warn('ai usage not recorded', {
      requestId: c.var.requestId,
      feature,
      ...errorFields(error),
    })
  }
}

/**
 * The second opinion (`AI_SECOND_OPINION=on`): the cheaper model reviews the items the guard
 * let through; an item with a flagged text is dropped. Its failure leaves the items as they are.
 */
async function reviewed<T>(
  c: AppContext,
  deps: AiDeps,
  job: SuggestionJob<T>,
  items: T[],
): Promise<{ items: T[]; opinion: SecondOpinion }> {
  const owners: number[] = []
  const texts: string[] = []
  for (const [i, item] of items.entries()) {
    for (const text of job.texts?.(item) ?? []) {
      owners.push(i)
      texts.push(text)
    }
  }
  const opinion = await secondOpinion(
    deps.anthropic,
    texts,
    deps.secondOpinion as SecondOpinionOptions,
    { signal: c.req.raw.signal, trace: c.get('trace') },
  )
  const bad = new Set(opinion.unsafe.map((i) => owners[i]))
  return { items: items.filter((_, i) => !bad.has(i)), opinion }
}
