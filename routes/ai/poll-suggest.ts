import { z } from 'zod'
import { validJson } from '../../src/kit/request.js'
import type { NativeHandler } from '../../src/types.js'
import type { AiDeps } from './deps.js'
import { buildPrompt, validateSuggestions } from './guard/index.js'
import { pollInstructions } from './instructions.js'
import { aiOutcomeRecorder } from './outcome.js'
import { minimumOf, runSuggestion } from './run.js'
import { POLL_TEMPLATES, type Poll, templatePolls } from './templates.js'

/** Request body of `ai-poll-suggest`. */
export const PollSuggestBody = z.object({
  topic: z.string().trim().min(1).max(200),
  context: z.array(z.string().trim().min(1).max(1000)).max(10).optional(),
  count: z.number().int().min(1).max(5).default(3),
  optionsPerPoll: z.number().int().min(2).max(5).default(4),
})

export type PollSuggestInput = z.output<typeof PollSuggestBody>

const pollItem = (optionsPerPoll: number) =>
  z
    .object({
      question: z.string().min(1).max(200),
      options: z.array(z.string().min(1).max(80)).min(2).max(10),
    })
    .transform((p) => ({
      question: p.question,
      options: [...new Set(p.options)].slice(0, optionsPerPoll),
    }))
    .pipe(z.object({ question: z.string(), options: z.array(z.string()).min(2) }))

const POLL_JSON_SCHEMA = {
  type: 'object',
  properties: {
    polls: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          question: { type: 'string' },
          options: { type: 'array', items: { type: 'string' } },
        },
        required: ['question', 'options'],
        additionalProperties: false,
      },
    },
  },
  required: ['polls'],
  additionalProperties: false,
}

/**
 * Native `ai-poll-suggest`: poll questions and options for a creator.
 * Body `{topic, context?, count?, optionsPerPoll?}` → `{polls: [{question, options}], meta}`.
 */
export function createAiPollSuggest(deps: AiDeps): NativeHandler {
  const record = aiOutcomeRecorder(deps.metrics, deps.onOutcome)
  const templates = deps.templates?.poll ?? POLL_TEMPLATES
  return async function aiPollSuggest(c) {
    const body = await validJson(c, PollSuggestBody)
    const prompt = buildPrompt({
      instructions: pollInstructions(body),
      data: [
        { tag: 'poll_topic', text: body.topic, priority: 1 },
        ...(body.context ?? []).map((text) => ({ tag: 'creator_note', text })),
      ],
      maxItemChars: 1000,
      maxTotalChars: 8000,
    })
    const guard = {
      system: prompt.system,
      canary: prompt.canary,
      tagNames: ['poll_topic', 'creator_note'],
    }
    const item: z.ZodType<Poll> = pollItem(body.optionsPerPoll)
    return runSuggestion<Poll>(c, deps, record, {
      feature: 'poll-suggest',
      key: 'polls',
      prompt,
      maxTokens: 200 + body.count * (60 + body.optionsPerPoll * 40),
      jsonSchema: POLL_JSON_SCHEMA,
      validate: (text) =>
        validateSuggestions(text, {
          key: 'polls',
          item,
          texts: (p) => [p.question, ...p.options],
          min: minimumOf(body.count),
          max: body.count,
          guard,
        }),
      texts: (p) => [p.question, ...p.options],
      min: minimumOf(body.count),
      template: () => templatePolls(templates, body),
    })
  }
}
