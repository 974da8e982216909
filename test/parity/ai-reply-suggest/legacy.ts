/** Legacy `ai-reply-suggest`: `{message, context?, style?, count?}` → `{suggestions: string[], meta}`. */
import { z } from 'zod'
import { suggestionContract } from '../ai-contract.js'
import type { LegacyContract } from '../legacy-kit.js'

const Body = z.object({
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

export const contract: LegacyContract = (req, env) =>
  suggestionContract(req, env, {
    schema: Body,
    feature: 'reply-suggest',
    answer: ({ count }) => ({
      suggestions: Array.from({ length: count }, (_, i) => `답장 제안 ${i + 1}`),
    }),
  })
