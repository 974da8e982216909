import Anthropic, {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  RateLimitError,
} from '@anthropic-ai/sdk'
import type { CircuitBreakerPolicy } from 'cockatiel'
import type { Config } from '../../src/config.js'
import { outgoingTraceHeaders, type TraceContext } from '../../src/observability/trace-context.js'
import { loadCockatiel } from '../../src/platform/resilience.js'

/** Why a model did not produce the answer; shown to clients in `meta.fallback`. */
export type FallbackReason =
  | 'rate-limited'
  | 'overloaded'
  | 'server-error'
  | 'timeout'
  | 'connection'
  | 'breaker-open'
  | 'invalid-output'
  | 'upstream-error'

export interface TokenUsage {
  inputTokens: number
  outputTokens: number
}

/** One call to one model, for logs (never content). */
export interface AiAttempt extends TokenUsage {
  model: string
  outcome: 'ok' | FallbackReason
}

export interface AiRequest<T> {
  system: string
  messages: Array<{ role: 'user' | 'assistant'; content: string }>
  /** Upper bound of the answer, per call. */
  maxTokens: number
  /**
   * JSON schema of the answer, sent as structured output (`output_config.format`) so the model
   * is constrained to it; the answer is still validated by `accept`.
   */
  jsonSchema?: Record<string, unknown>
  /** Turn the model's text into the value, or undefined when it is not acceptable. */
  accept: (text: string) => T | undefined
  signal?: AbortSignal
  /** The request's trace (`c.get('trace')`): each model call is sent as a child span. */
  trace?: TraceContext
}

export type AiResult<T> =
  | {
      source: 'ai'
      model: string
      value: T
      /** Set when the primary model failed and the fallback model answered. */
      fallback?: FallbackReason
      usage: TokenUsage
      attempts: AiAttempt[]
    }
  | { source: 'template'; fallback: FallbackReason; usage: TokenUsage; attempts: AiAttempt[] }

/** One call to the cheaper model outside the answer chain (the second opinion). */
export interface ClassifyRequest {
  system: string
  messages: Array<{ role: 'user'; content: string }>
  maxTokens: number
  timeoutMs: number
  jsonSchema?: Record<string, unknown>
  signal?: AbortSignal
  trace?: TraceContext
}

export interface ClassifyResult extends TokenUsage {
  model: string
  text: string
}

/** The gateway's view of Anthropic: primary model, one cheaper fallback, then the caller's template. */
export interface AiClient {
  complete<T>(request: AiRequest<T>): Promise<AiResult<T>>
  /**
   * One call to the fallback (cheaper) model with its own timeout and token budget, outside the
   * breakers (a tight classifier timeout must not open the breaker answers rely on). Throws on
   * any failure; the caller decides what a failure means.
   */
  classify?(request: ClassifyRequest): Promise<ClassifyResult>
  /** False when every model's breaker is open, so a call could only end in a template. */
  available(): boolean
  /** Breaker state per model, for /ready, metrics and the dashboard. */
  breakerStates(): Record<string, 'closed' | 'open' | 'half-open'>
  readonly models: { primary: string; fallback: string }
}

export interface AnthropicClientOptions {
  apiKey: string
  /** `ANTHROPIC_BASE_URL`; a stand-in in tests. */
  baseURL?: string
  primaryModel?: string
  fallbackModel?: string
  /** Per call, in milliseconds; the SDK default (10 minutes) is far beyond a user's patience. */
  timeoutMs?: number
  /** SDK retries per call; the fallback model is our retry, so none by default. */
  maxRetries?: number
  /** Consecutive transient failures that open a model's breaker. */
  breakerThreshold?: number
  /** How long an open breaker waits before letting one probe through. */
  breakerHalfOpenAfterMs?: number
  /** Send `jsonSchema` as structured output; turn off for a model that does not support it. */
  structuredOutputs?: boolean
  /** Custom fetch (tests, or a Workers binding). */
  fetch?: typeof fetch
}

/** Errors that say the model is unhealthy, as opposed to our request or its output being bad. */
function isTransient(error: Error): boolean {
  if (error instanceof APIConnectionError || error instanceof RateLimitError) return true
  return error instanceof APIError && typeof error.status === 'number' && error.status >= 500
}

/** Map an SDK or breaker error to a stable reason (the SDK's error classes). */
export function reasonOf(error: unknown): FallbackReason {
  // cockatiel is loaded lazily (src/platform/resilience.ts): match its error by its own marker.
  if ((error as { isBrokenCircuitError?: unknown } | null)?.isBrokenCircuitError === true)
    return 'breaker-open'
  if (error instanceof APIConnectionTimeoutError) return 'timeout'
  if (error instanceof APIConnectionError) return 'connection'
  if (error instanceof RateLimitError) return 'rate-limited'
  if (error instanceof APIError) {
    if (error.status === 529 || error.type === 'overloaded_error') return 'overloaded'
    if (error.status === 408 || error.status === 504) return 'timeout'
    if (typeof error.status === 'number' && error.status >= 500) return 'server-error'
  }
  return 'upstream-error'
}

/** cockatiel's `CircuitState` values (0 closed, 1 open, 2 half-open, 3 isolated). */
const OPEN = 1
const STATE_NAMES: Record<number, 'closed' | 'open' | 'half-open'> = {
  0: 'closed',
  1: 'open',
  2: 'half-open',
  3: 'open',
}

/**
 * Build the Anthropic client: the official SDK with explicit per-call `timeout`, `maxRetries`
 * and `max_tokens`, one circuit breaker per model, and the fallback chain
 * primary → cheaper model (once) → template (the caller's).
 *
 * @example
 * const anthropic = createAnthropicClient({
 *   apiKey: config.ANTHROPIC_API_KEY,
 *   baseURL: config.ANTHROPIC_BASE_URL,
 * })
 */
export function createAnthropicClient({
  apiKey,
  baseURL,
  // The SDK (1.14) marks claude-sonnet-4-5 deprecated (end of life 2026-11-30).
  primaryModel = 'claude-sonnet-5-5',
  fallbackModel = 'claude-haiku-5-5',
  timeoutMs = 15_000,
  maxRetries = 0,
  breakerThreshold = 5,
  breakerHalfOpenAfterMs = 30_000,
  structuredOutputs = true,
  fetch: customFetch,
}: AnthropicClientOptions): AiClient {
  const sdk = new Anthropic({
    apiKey,
    // Explicit, so the SDK never picks one up from the process environment.
    baseURL: baseURL ?? 'https://api.anthropic.com',
    timeout: timeoutMs,
    maxRetries,
    // The SDK logs through the console; our own log lines carry what matters, masked.
    logLevel: 'off',
    ...(customFetch ? { fetch: customFetch } : {}),
  })
  const models = [primaryModel, fallbackModel] as const
  // One breaker per model, built on the first call (see `loadCockatiel`).
  const breakers = new Map<string, CircuitBreakerPolicy>()
  let breakersReady: Promise<void> | undefined
  const ensureBreakers = () => {
    breakersReady ??= loadCockatiel().then(({ circuitBreaker, ConsecutiveBreaker, handleWhen }) => {
      for (const model of new Set(models)) {
        breakers.set(
          model,
          circuitBreaker(handleWhen(isTransient), {
            halfOpenAfter: breakerHalfOpenAfterMs,
            breaker: new ConsecutiveBreaker(breakerThreshold),
          }),
        )
      }
    })
    return breakersReady
  }

  async function attempt<T>(model: string, request: AiRequest<T>) {
    await ensureBreakers()
    const breaker = breakers.get(model) as CircuitBreakerPolicy
    try {
      const message = await breaker.execute(() =>
        sdk.messages.create(
          {
            model,
            system: request.system,
            messages: request.messages,
            max_tokens: request.maxTokens,
            ...(request.jsonSchema && structuredOutputs
              ? {
                  output_config: {
                    format: { type: 'json_schema' as const, schema: request.jsonSchema },
                  },
                }
              : {}),
          },
          {
            timeout: timeoutMs,
            maxRetries,
            headers: outgoingTraceHeaders(request.trace),
            ...(request.signal ? { signal: request.signal } : {}),
          },
        ),
      )
      const usage = {
        inputTokens: message.usage?.input_tokens ?? 0,
        outputTokens: message.usage?.output_tokens ?? 0,
      }
      const text = message.content
        .flatMap((block) => (block.type === 'text' ? [block.text] : []))
        .join('')
      const value = message.stop_reason === 'refusal' ? undefined : request.accept(text)
      if (value === undefined) {
        return { attempt: { model, outcome: 'invalid-output' as const, ...usage }, value }
      }
      return { attempt: { model, outcome: 'ok' as const, ...usage }, value }
    } catch (error) {
      if (request.signal?.aborted) throw error
      const attempt: AiAttempt = {
        model,
        outcome: reasonOf(error),
        inputTokens: 0,
        outputTokens: 0,
      }
      return { attempt, value: undefined }
    }
  }

  return {
    models: { primary: primaryModel, fallback: fallbackModel },

    async classify(request: ClassifyRequest): Promise<ClassifyResult> {
      const message = await sdk.messages.create(
        {
          model: fallbackModel,
          system: request.system,
          messages: request.messages,
          max_tokens: request.maxTokens,
          ...(request.jsonSchema && structuredOutputs
            ? {
                output_config: {
                  format: { type: 'json_schema' as const, schema: request.jsonSchema },
                },
              }
            : {}),
        },
        {
          timeout: request.timeoutMs,
          maxRetries: 0,
          headers: outgoingTraceHeaders(request.trace),
          ...(request.signal ? { signal: request.signal } : {}),
        },
      )
      return {
        model: fallbackModel,
        text: message.content.flatMap((b) => (b.type === 'text' ? [b.text] : [])).join(''),
        inputTokens: message.usage?.input_tokens ?? 0,
        outputTokens: message.usage?.output_tokens ?? 0,
      }
    },

    // Before the first call there are no breakers yet: every model counts as closed.
    available: () => breakers.size === 0 || [...breakers.values()].some((b) => b.state !== OPEN),

    breakerStates: () =>
      Object.fromEntries(
        [...new Set(models)].map((model) => [
          model,
          STATE_NAMES[breakers.get(model)?.state ?? 0] ?? 'open',
        ]),
      ),

    async complete<T>(request: AiRequest<T>): Promise<AiResult<T>> {
      const attempts: AiAttempt[] = []
      const chain = primaryModel === fallbackModel ? [primaryModel] : [primaryModel, fallbackModel]
      for (const model of chain) {
        const result = await attempt(model, request)
        attempts.push(result.attempt)
        if (result.value !== undefined) {
          const first = attempts[0] as AiAttempt
          return {
            source: 'ai',
            model,
            value: result.value,
            ...(first.outcome !== 'ok' ? { fallback: first.outcome } : {}),
            usage: sumUsage(attempts),
            attempts,
          }
        }
      }
      const first = attempts[0] as AiAttempt
      return {
        source: 'template',
        fallback: first.outcome as FallbackReason,
        usage: sumUsage(attempts),
        attempts,
      }
    },
  }
}

function sumUsage(attempts: readonly AiAttempt[]): TokenUsage {
  return attempts.reduce(
    (sum, a) => ({
      inputTokens: sum.inputTokens + a.inputTokens,
      outputTokens: sum.outputTokens + a.outputTokens,
    }),
    { inputTokens: 0, outputTokens: 0 },
  )
}

/**
 * The client from configuration (`ANTHROPIC_API_KEY`, `ANTHROPIC_BASE_URL`), or undefined when
 * no key is set: the AI routes then have no native handler and stay on legacy.
 */
export function anthropicFromConfig(
  config: Pick<Config, 'ANTHROPIC_API_KEY' | 'ANTHROPIC_BASE_URL'>,
  options: Omit<AnthropicClientOptions, 'apiKey' | 'baseURL'> = {},
): AiClient | undefined {
  if (!config.ANTHROPIC_API_KEY) return undefined
  return createAnthropicClient({
    ...options,
    apiKey: config.ANTHROPIC_API_KEY,
    ...(config.ANTHROPIC_BASE_URL ? { baseURL: config.ANTHROPIC_BASE_URL } : {}),
  })
}
