import { z } from 'zod'
import { validJson } from '../../src/kit/request.js'
import type { NativeHandler } from '../../src/types.js'
import type { AiDeps } from './deps.js'
import { buildPrompt, validateSuggestions } from './guard/index.js'
import { replyInstructions } from './instructions.js'
import { aiOutcomeRecorder } from './outcome.js'
import { minimumOf, runSuggestion } from './run.js'
import { REPLY_TEMPLATES, templateReplies } from './templates.js'

/** Request body of `ai-reply-suggest`. */
export const ReplySuggestBody = z.object({
  message: z.string().trim().min(1).max(2000),
  context: z
    .array(
      z.object({ author: z.enum(['fan', 'creator']), text: z.string().trim().min(1).max(1000) }),
    )
    .max(10)
    .optional(),
  style: z
    .object({
      tone: z.enum(['friendly', 'polite', 'playful', 'warm', 'professional']).default('friendly'),
      language: z.enum(['ko', 'en', 'ja']).default('ko'),
      emoji: z.boolean().default(false),
    })
    .optional(),
  count: z.number().int().min(1).max(5).default(3),
})

export type ReplySuggestInput = z.output<typeof ReplySuggestBody>

const SUGGESTION = z.string().min(1).max(300)

const REPLY_JSON_SCHEMA = {
  type: 'object',
  properties: { suggestions: { type: 'array', items: { type: 'string' } } },
  required: ['suggestions'],
  additionalProperties: false,
}

const TAGS = { fan: 'earlier_fan_message', creator: 'earlier_creator_reply' } as const

/**
 * Native `ai-reply-suggest`: reply suggestions for a creator answering a fan.
 * Body `{message, context?, style?, count?}` → `{suggestions: string[], meta}`.
 */
export function createAiReplySuggest(deps: AiDeps): NativeHandler {
  const record = aiOutcomeRecorder(deps.metrics, deps.onOutcome)
  const templates = deps.templates?.reply ?? REPLY_TEMPLATES
  return async function aiReplySuggest(c) {
    const body = await validJson(c, ReplySuggestBody)
    const style = body.style ?? { tone: 'friendly' as const, language: 'ko' as const, emoji: false }
    const prompt = buildPrompt({
      instructions: replyInstructions({ ...style, count: body.count }),
      data: [
        ...(body.context ?? []).map((turn) => ({ tag: TAGS[turn.author], text: turn.text })),
        { tag: 'fan_message', text: body.message, priority: 1 },
      ],
      maxItemChars: 2000,
      maxTotalChars: 12_000,
    })
    const guard = {
      system: prompt.system,
      canary: prompt.canary,
      tagNames: [...Object.values(TAGS), 'fan_message'],
    }
    return runSuggestion(c, deps, record, {
      feature: 'reply-suggest',
      key: 'suggestions',
      prompt,
      maxTokens: 200 + body.count * 350,
      jsonSchema: REPLY_JSON_SCHEMA,
      validate: (text) =>
        validateSuggestions(text, {
          key: 'suggestions',
          item: SUGGESTION,
          texts: (s) => [s],
          min: minimumOf(body.count),
          max: body.count,
          guard,
        }),
      texts: (s) => [s],
      min: minimumOf(body.count),
      template: () => templateReplies(templates, { ...style, count: body.count }),
    })
  }
}
