import { z } from 'zod'

/** `meta` of every AI answer: which model answered, or that a template did and why. */
export const SuggestionMetaSchema = z.object({
  model: z.string(),
  source: z.enum(['ai', 'template']),
  fallback: z
    .string()
    .optional()
    .describe('Why a template answered: rate-limited, overloaded, timeout, invalid-output, …'),
})

export const ReplySuggestAnswer = z.object({
  suggestions: z.array(z.string().min(1).max(300)),
  meta: SuggestionMetaSchema,
})

export const PollSuggestAnswer = z.object({
  polls: z.array(z.object({ question: z.string(), options: z.array(z.string()) })),
  meta: SuggestionMetaSchema,
})
