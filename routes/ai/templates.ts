import { findViolation, normalizeText, truncate } from './guard/index.js'

/**
 * Answers given without a model (every model failed, or every breaker is open). They are
 * generic on purpose: they never quote the fan, so nothing untrusted is echoed back, and the
 * response says `meta.source: 'template'` so the app can show them as such.
 */

export type Language = 'ko' | 'en' | 'ja'
export type Tone = 'friendly' | 'polite' | 'playful' | 'warm' | 'professional'

export type ReplyTemplates = Record<
  Language,
  Partial<Record<Tone, readonly string[]>> & { friendly: readonly string[] }
>

export const REPLY_TEMPLATES: ReplyTemplates = {
  ko: {
    friendly: [
      '메시지 고마워요! 덕분에 오늘 하루가 더 즐거워졌어요',
      '늘 응원해 줘서 정말 고마워요. 큰 힘이 돼요!',
      '이렇게 마음 전해 줘서 고마워요. 다음 콘텐츠도 기대해 줘요!',
      '와, 읽으면서 저도 모르게 웃었어요. 고마워요!',
      '좋은 말 해 줘서 고마워요. 앞으로도 자주 이야기 나눠요!',
    ],
    polite: [
      '소중한 메시지 보내 주셔서 감사합니다.',
      '늘 응원해 주셔서 진심으로 감사드립니다. 큰 힘이 됩니다.',
      '따뜻한 말씀 감사합니다. 더 좋은 콘텐츠로 보답하겠습니다.',
      '관심 가져 주셔서 감사합니다. 앞으로도 잘 부탁드립니다.',
      '말씀해 주신 내용 잘 읽었습니다. 감사합니다.',
    ],
    playful: [
      '헉, 이런 메시지 받으면 저 너무 신나잖아요!',
      '오늘의 행복 충전 완료! 고마워요~',
      '이 메시지 보고 광대 승천했어요. 고마워요!',
      '역시 최고예요! 다음에도 꼭 놀러 와요~',
      '고마운 마음 두 배로 돌려줄게요!',
    ],
  },
  en: {
    friendly: [
      'Thanks so much for your message! It made my day.',
      'Your support means a lot to me. Thank you!',
      'Thank you for sharing this with me. Stay tuned for the next one!',
      'This put a smile on my face. Thanks!',
      'Really appreciate you reaching out. Let’s keep chatting!',
    ],
    polite: [
      'Thank you very much for your kind message.',
      'I truly appreciate your continued support.',
      'Thank you for your warm words. I will keep doing my best.',
      'Thank you for your interest. I look forward to sharing more.',
      'I have read your message carefully. Thank you.',
    ],
  },
  ja: {
    friendly: [
      'メッセージありがとう!とても嬉しいです',
      'いつも応援してくれてありがとう。元気が出ます!',
      '気持ちを伝えてくれてありがとう。次も楽しみにしていてね!',
      '読んでいて思わず笑顔になりました。ありがとう!',
      '嬉しい言葉をありがとう。これからもよろしくね!',
    ],
    polite: [
      '素敵なメッセージをありがとうございます。',
      'いつも応援していただき、心より感謝いたします。',
      '温かいお言葉ありがとうございます。これからも頑張ります。',
      'ご関心をお寄せいただきありがとうございます。',
      'メッセージを拝見しました。ありがとうございます。',
    ],
  },
}

const EMOJI = ['😊', '🙏', '💕', '✨', '😄'] as const

/** `count` template replies in the language and tone asked for (friendly when the tone has none). */
export function templateReplies(
  templates: ReplyTemplates,
  {
    language,
    tone,
    emoji,
    count,
  }: { language: Language; tone: Tone; emoji: boolean; count: number },
): string[] {
  const set = templates[language] ?? templates.ko
  const list = set[tone] ?? set.friendly
  return list
    .slice(0, count)
    .map((text, i) => (emoji ? `${text} ${EMOJI[i % EMOJI.length]}` : text))
}

export interface Poll {
  question: string
  options: string[]
}

export type PollTemplates = readonly ((topic: string) => Poll)[]

/** Korean poll templates; the topic is the creator's own words, checked, normalised and bounded. */
export const POLL_TEMPLATES: PollTemplates = [
  (topic) => ({
    question: `${topic}, 어떻게 생각하세요?`,
    options: ['완전 좋아요', '좋아요', '보통이에요', '잘 모르겠어요', '다른 의견이 있어요'],
  }),
  (topic) => ({
    question: `${topic} 관련해서 다음에 가장 보고 싶은 건?`,
    options: ['비하인드 영상', '라이브 방송', 'Q&A', '사진 모음', '기타'],
  }),
  (topic) => ({
    question: `${topic}, 언제가 가장 좋으세요?`,
    options: ['평일 저녁', '주말 낮', '주말 저녁', '상관없어요', '기타'],
  }),
  (topic) => ({
    question: `${topic}에 대한 관심도는?`,
    options: ['매우 높아요', '높아요', '보통이에요', '낮아요', '잘 모르겠어요'],
  }),
  (topic) => ({
    question: `${topic}, 참여하실 의향이 있나요?`,
    options: ['꼭 참여할래요', '아마도요', '상황 봐서요', '어려울 것 같아요', '기타'],
  }),
]

/** `count` template polls about `topic`, each with `optionsPerPoll` options. */
export function templatePolls(
  templates: PollTemplates,
  { topic, count, optionsPerPoll }: { topic: string; count: number; optionsPerPoll: number },
): Poll[] {
  const cleaned = truncate(normalizeText(topic).trim(), 60)
  // The topic is untrusted too: a link or a number in it must not come back in a template.
  const shown = findViolation(cleaned) ? '이번 주제' : cleaned
  return templates.slice(0, count).map((make) => {
    const poll = make(shown)
    return { question: poll.question, options: poll.options.slice(0, optionsPerPoll) }
  })
}
