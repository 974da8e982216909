import { defineProblems } from '../../src/errors.js'

/** What the AI routes answer besides validation (the guard and the vendor answer as replies). */
export const AI_PROBLEMS = defineProblems('ai', {
  'ai-quota-exhausted': { status: 429, title: 'AI suggestion quota used up' },
})
