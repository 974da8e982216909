import { closed, defineFeature, KiB } from '../../src/route-table.js'
import { anthropicFromConfig } from './anthropic.js'
import type { AiDeps } from './deps.js'
import { createAiPollSuggest, PollSuggestBody } from './poll-suggest.js'
import { AI_PROBLEMS } from './problems.js'
import { createAiReplySuggest, ReplySuggestBody } from './reply-suggest.js'
import { PollSuggestAnswer, ReplySuggestAnswer } from './schemas.js'

/**
 * AI suggestions through Anthropic, behind the prompt-injection guard (`guard/`), with per-user
 * quotas in the database and template answers when the model is unavailable.
 */
export const ai = defineFeature({
  name: 'ai',
  problems: [AI_PROBLEMS],
  setup: ({ config, db, logger, metrics, vendorFetch }): AiDeps | undefined => {
    if (!db) return undefined
    const anthropic = anthropicFromConfig(
      config,
      vendorFetch?.anthropic ? { fetch: vendorFetch.anthropic } : {},
    )
    if (!anthropic) return undefined
    return {
      db,
      anthropic,
      logger: logger.child({ component: 'ai' }),
      metrics,
      secondOpinion: {
        enabled: config.AI_SECOND_OPINION === 'on',
        timeoutMs: config.AI_SECOND_OPINION_TIMEOUT_MS,
        maxTokens: config.AI_SECOND_OPINION_MAX_TOKENS,
      },
    }
  },
  routes: [
    {
      id: 'ai-reply-suggest',
      phase: 1,
      summary: 'Reply suggestions for a creator answering a fan',
      aliases: ['/api/v1/ai/reply-suggest'],
      policy: { replay: 'before-effect', rateLimit: closed(20), bodyLimitBytes: 32 * KiB },
      native: createAiReplySuggest,
      api: [
        {
          method: 'POST',
          body: ReplySuggestBody,
          response: ReplySuggestAnswer,
          headers: ['x-ai-quota-remaining'],
          example: {
            body: { message: '오늘 방송 너무 재밌었어요!', count: 3 },
            response: {
              suggestions: [
                '고마워요! 다음 방송도 기대해 주세요',
                '와줘서 고마워요',
                '덕분에 즐거웠어요',
              ],
              meta: { model: 'claude-haiku', source: 'ai' },
            },
          },
        },
      ],
    },
    {
      id: 'ai-poll-suggest',
      phase: 3,
      summary: 'Poll questions and options for a creator',
      aliases: ['/api/v1/ai/poll-suggest'],
      policy: { replay: 'before-effect', rateLimit: closed(20), bodyLimitBytes: 32 * KiB },
      native: createAiPollSuggest,
      api: [
        {
          method: 'POST',
          body: PollSuggestBody,
          response: PollSuggestAnswer,
          headers: ['x-ai-quota-remaining'],
          example: { body: { topic: '다음 팬미팅 장소', count: 2, optionsPerPoll: 3 } },
        },
      ],
    },
    {
      id: 'refresh-fallback-quotas',
      phase: 'stay-legacy',
      summary: 'AI quota refill job (stays on Edge Functions)',
      policy: { replay: 'never', auth: 'service' },
    },
  ],
})
