/** Legacy `ai-poll-suggest`: `{topic, context?, count?, optionsPerPoll?}` → `{polls: [{question, options}], meta}`. */
import { z } from 'zod'
import { suggestionContract } from '../ai-contract.js'
import type { LegacyContract } from '../legacy-kit.js'

const Body = z.object({
  topic: z.string().trim().min(1).max(200),
  context: z.array(z.string().trim().min(1).max(1000)).max(10).optional(),
  count: z.number().int().min(1).max(5).default(3),
  optionsPerPoll: z.number().int().min(2).max(5).default(4),
})

export const contract: LegacyContract = (req, env) =>
  suggestionContract(req, env, {
    schema: Body,
    feature: 'poll-suggest',
    answer: ({ count, optionsPerPoll }) => ({
      polls: Array.from({ length: count }, (_, i) => ({
        question: `투표 ${i + 1}?`,
        options: Array.from({ length: optionsPerPoll }, (_, j) => `선택 ${j + 1}`),
      })),
    }),
  })
