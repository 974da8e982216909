import type { Metrics } from '../../src/observability/metrics.js'
import type { AiAttempt, FallbackReason } from './anthropic.js'

/** One answered suggestion request: no content, only what operators count. */
export interface AiOutcomeEvent {
  feature: string
  source: 'ai' | 'template'
  /** Model that answered, or `template`. */
  model: string
  fallback: FallbackReason | undefined
  inputTokens: number
  outputTokens: number
  attempts: AiAttempt[]
  /** Items dropped by the output guard across the attempts that answered. */
  dropped: number
}

/** Registers the AI series once and returns the recorder the routes call per request. */
export function aiOutcomeRecorder(
  metrics: Metrics | undefined,
  onOutcome?: (e: AiOutcomeEvent) => void,
) {
  const suggestions = metrics?.counter(
    'bff_ai_suggestions_total',
    'AI suggestion answers by feature, source (ai or template), model and fallback reason',
    ['feature', 'source', 'model', 'fallback'],
  )
  const attempts = metrics?.counter(
    'bff_ai_model_calls_total',
    'Model calls by feature, model and outcome (ok or the failure reason)',
    ['feature', 'model', 'outcome'],
  )
  const tokens = metrics?.counter(
    'bff_ai_tokens_total',
    'Tokens billed by feature, model and direction',
    ['feature', 'model', 'direction'],
  )
  return function recordAiOutcome(event: AiOutcomeEvent): void {
    suggestions?.inc({
      feature: event.feature,
      source: event.source,
      model: event.model,
      fallback: event.fallback ?? 'none',
    })
    for (const a of event.attempts) {
      attempts?.inc({ feature: event.feature, model: a.model, outcome: a.outcome })
      if (a.inputTokens)
        tokens?.inc({ feature: event.feature, model: a.model, direction: 'input' }, a.inputTokens)
      if (a.outputTokens)
        tokens?.inc({ feature: event.feature, model: a.model, direction: 'output' }, a.outputTokens)
    }
    onOutcome?.(event)
  }
}
