import { normalizeText } from './sanitize.js'

/** Why one suggestion was refused; stable names, used in logs and metrics. */
export type Violation =
  | 'empty'
  | 'link'
  | 'email'
  | 'phone'
  | 'contact-handle'
  | 'encoded-payload'
  | 'markup'
  | 'prompt-leak'
  | 'instruction-echo'

/** What an output is compared against to detect a leak of the system prompt. */
export interface LeakGuard {
  system: string
  canary: string
  /** Data tag names; an output naming them is echoing the prompt's frame. */
  tagNames?: readonly string[]
  /** Consecutive words shared with `system` that count as an echo. */
  ngram?: number
}

const TLD =
  '(?:com|net|org|io|kr|co|me|ly|gg|app|xyz|link|site|shop|info|biz|tv|to|cc|ai|dev|page|club|online|store|us|jp|cn|ru|so|in|be|gl|do|sh|la|ws)'
const DOT =
  '(?:[.。・·]|\\s*(?:\\[\\.\\]|\\(\\.\\)|\\{\\.\\}|\\[dot\\]|\\(dot\\)|\\bdot\\b|닷|쩜)\\s*)'

const LINK_PATTERNS: readonly RegExp[] = [
  /\b(?:https?|hxxps?|h\s*t\s*t\s*p\s*s?|ftp)\s*[:;]\s*\/\s*\//i,
  /\bhxxps?\b/i,
  /\bwww\s*(?:[.。]|\[\.\]|\(\.\)|\bdot\b)/i,
  new RegExp(`[\\p{L}\\p{N}-]+${DOT}${TLD}(?![\\p{L}\\p{N}])`, 'iu'),
  /닷\s*(?:컴|넷|오알지|케이알|씨오)|쩜\s*(?:컴|넷)|dot\s*com\b/i,
  /\]\s*\(/,
  /\bbit\s*\.\s*ly\b|\bt\s*\.\s*me\s*\//i,
]

const EMAIL_PATTERNS: readonly RegExp[] = [
  /[\p{L}\p{N}._%+-]+\s*@\s*[\p{L}\p{N}-]+\s*(?:[.。]|\bdot\b|닷|쩜)/iu,
  /[\p{L}\p{N}._%+-]+\s*(?:\[at\]|\(at\)|\{at\}|골뱅이)\s*[\p{L}\p{N}-]+/iu,
  /\b(?:gmail|hanmail|naver\s*mail|daum\s*mail|outlook|hotmail|icloud)\b|지메일|한메일|네이버\s*메일/iu,
]

const CONTACT_PATTERNS: readonly RegExp[] = [
  /@\s*[\p{L}\p{N}_.]{2,}/u,
  /kakao|카카오|카톡|까톡|open\s*\.?\s*chat|오픈\s*채팅|오픈\s*카톡|오픈\s*톡/iu,
  /telegram|텔레그램|텔레|whats\s*app|왓츠앱|wechat|위챗|discord|디스코드|snapchat|스냅챗/iu,
  /\bline\s*id\b|라인\s*(?:아이디|id)|\bsignal\s*app\b/iu,
  /(?:instagram|insta|인스타(?:그램)?|트위터|twitter|tiktok|틱톡)\s*(?:id|아이디|계정|handle|dm|디엠)/iu,
  /(?:아이디|id)\s*(?:는|은|:|=)\s*[a-z0-9_.]{3,}/iu,
  /(?:dm|디엠|쪽지|연락)\s*(?:주세요|줘|me|하세요|해\s*주세요)/iu,
]

/** Korean, Sino-Korean and English digit words, so `공일공…` is seen as digits. */
const DIGIT_WORDS: ReadonlyArray<[RegExp, string]> = [
  [/[공영]/g, '0'],
  [/일/g, '1'],
  [/이/g, '2'],
  [/삼/g, '3'],
  [/사/g, '4'],
  [/오/g, '5'],
  [/육/g, '6'],
  [/칠/g, '7'],
  [/팔/g, '8'],
  [/구/g, '9'],
  [/\bzero\b|\boh\b/gi, '0'],
  [/\bone\b/gi, '1'],
  [/\btwo\b/gi, '2'],
  [/\bthree\b/gi, '3'],
  [/\bfour\b/gi, '4'],
  [/\bfive\b/gi, '5'],
  [/\bsix\b/gi, '6'],
  [/\bseven\b/gi, '7'],
  [/\beight\b/gi, '8'],
  [/\bnine\b/gi, '9'],
]

/** Nine or more digits in a row once separators are gone: a phone or account number. */
function hasPhoneLike(text: string): boolean {
  if (/\+\s*\d{1,3}[\s-]*\d/.test(text)) return true
  const squash = (s: string) => s.replace(/[\s\-–—.()/_~·,]+/g, '')
  if (/\d{9,}/.test(squash(text))) return true
  let spelled = text
  for (const [re, digit] of DIGIT_WORDS) spelled = spelled.replace(re, digit)
  return /\d{9,}/.test(squash(spelled))
}

const ENCODED = /[A-Za-z0-9+/_-]{28,}={0,2}|[A-Za-z0-9+/]{16,}={1,2}/

const MARKUP =
  /<\s*\/?\s*[a-z_!?]|&lt;|&gt;|```|\[\/?(?:b|i|u|s|url|img|code|quote|color|size)\b[^\]]*\]/i

const INSTRUCTION_ECHO: readonly RegExp[] = [
  /(?:ignor|disregard|forget|overrid)\w*\s+(?:all\s+|the\s+|any\s+|my\s+|your\s+)*(?:previous|prior|above|earlier|preceding|former|original)/i,
  /system\s*prompt|developer\s*mode|jail\s*break|\bDAN\b|do anything now/i,
  /as an ai\b|language model|\bi am (?:an? )?(?:ai|assistant|claude|chatbot)\b/i,
  /시스템\s*프롬프트|프롬프트|이전\s*(?:의\s*)?지시|지시\s*(?:사항)?\s*(?:을|를)?\s*무시|개발자\s*모드|탈옥/u,
  /(?:AI|인공지능|언어\s*모델)\s*(?:로서|으로서|입니다|이에요|예요)/u,
  /instructions?\s*(?:are|were|say|:)|my instructions|confidential marker/i,
]

const words = (s: string) =>
  s
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean)

/** True when `text` shares `n` consecutive words with `source`. */
function sharesNgram(text: string, source: string, n: number): boolean {
  const src = words(source)
  if (src.length < n) return false
  const grams = new Set<string>()
  for (let i = 0; i + n <= src.length; i++) grams.add(src.slice(i, i + n).join(' '))
  const out = words(text)
  for (let i = 0; i + n <= out.length; i++) {
    if (grams.has(out.slice(i, i + n).join(' '))) return true
  }
  return false
}

const alnum = (s: string) => s.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '')

function leaks(text: string, guard: LeakGuard): boolean {
  const flat = alnum(text)
  if (flat.includes(alnum(guard.canary))) return true
  if (guard.tagNames?.some((t) => flat.includes(alnum(t)))) return true
  return sharesNgram(text, guard.system, guard.ngram ?? 6)
}

/**
 * The first rule a model output breaks, or undefined when it may be shown to a user. The text
 * is inspected in normalised form (NFKC, invisible characters removed), so full-width and
 * zero-width tricks do not hide a link, a number or a handle.
 */
export function findViolation(text: string, guard?: LeakGuard): Violation | undefined {
  const t = normalizeText(text).trim()
  if (!t) return 'empty'
  if (guard && leaks(t, guard)) return 'prompt-leak'
  if (MARKUP.test(t)) return 'markup'
  if (EMAIL_PATTERNS.some((re) => re.test(t))) return 'email'
  if (LINK_PATTERNS.some((re) => re.test(t))) return 'link'
  if (CONTACT_PATTERNS.some((re) => re.test(t))) return 'contact-handle'
  if (hasPhoneLike(t)) return 'phone'
  if (ENCODED.test(t)) return 'encoded-payload'
  if (INSTRUCTION_ECHO.some((re) => re.test(t))) return 'instruction-echo'
  return undefined
}
