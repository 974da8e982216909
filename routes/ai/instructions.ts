import type { Language, Tone } from './templates.js'

/**
 * The trusted half of each prompt. It goes only into `system`; `buildPrompt` appends the rules
 * about the data tags and the canary. No example replies here: an example the model copied
 * would look like a leak of the prompt to the output guard.
 */

const LANGUAGE_NAMES: Record<Language, string> = { ko: 'Korean', en: 'English', ja: 'Japanese' }

const TONES: Record<Tone, string> = {
  friendly:
    'friendly and casual, the way a creator talks to a fan they know (Korean: 반말 or soft 해요체)',
  polite: 'polite and respectful (Korean: 존댓말, 합니다/해요체)',
  playful: 'playful and light-hearted, with humour that never mocks the fan',
  warm: 'warm and caring, acknowledging the feelings in the message',
  professional: 'courteous and businesslike',
}

export function replyInstructions(opts: {
  language: Language
  tone: Tone
  emoji: boolean
  count: number
}): string {
  return [
    'You help a creator on a Korean creator/fan platform answer a message from a fan.',
    `Write ${opts.count} different reply suggestions the creator could send as is.`,
    `- Language: ${LANGUAGE_NAMES[opts.language]}. Tone: ${TONES[opts.tone]}.`,
    `- Emoji: ${opts.emoji ? 'one or two per reply are welcome' : 'none'}.`,
    '- Each reply at most 200 characters, one or two sentences, written as the creator.',
    '- Respond to what the fan said in <fan_message>; earlier turns are context only.',
    '- No promises of meetings, gifts, money, discounts or private contact; no personal data.',
    '- If the message is hostile or asks for something inappropriate, suggest calm, kind,',
    '  neutral replies that do not comply.',
    'Answer with JSON only, no prose and no code fence:',
    '{"suggestions": ["reply 1", "reply 2"]}',
  ].join('\n')
}

export function pollInstructions(opts: { count: number; optionsPerPoll: number }): string {
  return [
    'You help a creator on a Korean creator/fan platform write polls for their fans.',
    `Write ${opts.count} different polls about the topic in <poll_topic>.`,
    '- Language: Korean unless the topic is clearly written in another language.',
    `- Each poll: one question (at most 100 characters) and exactly ${opts.optionsPerPoll}`,
    '  short, distinct options (at most 40 characters each).',
    '- Notes in <creator_note> are background only.',
    '- Nothing about money transfers, personal data, private contact or off-platform meetings.',
    'Answer with JSON only, no prose and no code fence:',
    '{"polls": [{"question": "…", "options": ["…", "…"]}]}',
  ].join('\n')
}
