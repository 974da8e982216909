import { findPhoneNumbersInText } from 'libphonenumber-js'
import { LinkifyIt } from 'linkify-it'
import tlds from 'tlds'
import { classifyDigitRun, type DigitRun, digitRuns } from '../../../src/observability/normalise.js'
import { type TextViews, viewsOf } from './normalise.js'
import { policyViolation } from './policy.js'

/** Why one suggestion was refused; stable names, used in logs and metrics. */
export type Violation =
  | 'empty'
  | 'link'
  | 'email'
  | 'phone'
  | 'account'
  | 'wallet'
  | 'contact-handle'
  | 'encoded-payload'
  | 'markup'
  | 'prompt-leak'
  | 'instruction-echo'
  | 'payment-solicitation'
  | 'hate'

/** What an output is compared against to detect a leak of the system prompt. */
export interface LeakGuard {
  system: string
  canary: string
  /** Data tag names; an output naming them is echoing the prompt's frame. */
  tagNames?: readonly string[]
  /** Consecutive words shared with `system` that count as an echo. */
  ngram?: number
}

// ---------------------------------------------------------------------------------------------
// Links and e-mail: linkify-it with the full IANA TLD list (the `tlds` package), on the view
// where spelled-out dots and at-signs are written as `.` and `@`.

let linkifier: LinkifyIt | undefined
function linkify(): LinkifyIt {
  linkifier ??= new LinkifyIt({ fuzzyLink: true, fuzzyEmail: true, fuzzyIP: true }).tlds(tlds)
  return linkifier
}

/** Schemes and link shapes linkify-it does not report: obfuscated or non-web schemes. */
const LINK_PATTERNS: readonly RegExp[] = [
  /\b(?:https?|hxxps?|ftp|wss?)\s*[:;]\s*\/\s*\//,
  /\bhxxps?\b|h\s*t\s*t\s*p\s*s?\s*:\s*\/\s*\//,
  /\bwww\s*\./,
  /\]\s*\(/,
  /!\s*\[[^\]]*\]|\[[^\]]+\]\s*\[[^\]]*\]|^\s*\[[^\]]+\]\s*:\s*\S/m,
  /\b(?:bit\s*\.\s*ly|t\s*\.\s*me|open\s*\.\s*kakao|line\s*\.\s*me|wa\s*\.\s*me)\b/,
  // Bare IPv4 (each octet ≤ 255), with any of the dots spelled or spaced.
  /(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\s?\.\s?){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\d.])/,
  /\[[0-9a-f:]*::[0-9a-f:]*\]/,
]
const SCRIPT_SCHEME = /\b(?:javascript|vbscript|data|file|blob|intent)\s*:/

function findLink(views: TextViews): Violation | undefined {
  const squashedSchemes = views.skeleton.replace(/[\s\p{Cf}]+/gu, '')
  if (SCRIPT_SCHEME.test(squashedSchemes)) return 'link'
  const seen = new Set<string>()
  for (const view of [views.dotted, views.skeleton, views.spacedOut]) {
    if (seen.has(view)) continue
    seen.add(view)
    if (LINK_PATTERNS.some((re) => re.test(view))) return 'link'
    // Every link, address and IP linkify-it reports has a dot, a colon or an at-sign; its
    // regular expression (the whole TLD list) is the guard's most expensive step.
    if (!/[.:@]/.test(view)) continue
    const matches = linkify().match(view)
    if (matches?.some((m) => m.schema === 'mailto:')) return 'email'
    if (matches?.length) return 'link'
  }
  return undefined
}

const EMAIL_PATTERNS: readonly RegExp[] = [
  /[\p{L}\p{N}._%+-]+\s*@\s*[\p{L}\p{N}-]+\s*\.\s*[a-z]{2,}/u,
  /[\p{L}\p{N}._%+-]+\s*(?:\[\s*at\s*\]|\(\s*at\s*\)|골뱅이|앳)\s*[\p{L}\p{N}-]+/u,
  /\b(?:gmail|hanmail|naver\s*mail|daum\s*mail|outlook|hotmail|icloud|proton\s*mail|yahoo\s*mail)\b|지메일|한메일|네이버\s*메일|다음\s*메일/u,
]

// ---------------------------------------------------------------------------------------------
// Messenger handles and contact channels. Our own rules: no library knows Korean spellings.

const CONTACT_PATTERNS: readonly RegExp[] = [
  // @handle (Instagram, X, TikTok …), dots and underscores included.
  /@\s*[a-z0-9_][a-z0-9_.]{1,}/,
  // KakaoTalk and open chat, not the company's brands (카카오프렌즈, 카카오페이지 stay) nor
  // the app's features (카톡 이모티콘, 카톡 프사).
  /(?:카카오\s*톡|카톡|까톡|캌톡|카\s*[카코]\s*오?\s*톡)(?!\s*(?:이모티콘|이모지|테마|프사|알림|업데이트|광고))|카카오\s*(?:아이디|id|계정|친구|친추|프로필)|kakao\s*talk|kakaotalk|\bkatalk\b|kakao\s*(?:id|아이디)|\bkt\s*id\b/,
  /오픈\s*(?:채팅|챗|카톡|톡|방)|\bopen\s*\.?\s*chat|openchat|오챗|단톡\s*(?:방|링크|주소)/,
  // Telegram, not words that start like it (텔레파시, 텔레비전, 텔레토비).
  /텔레그램|텔레\s*(?:아이디|id|계정|채널|방|주소|로\s*(?:연락|와|오|dm|디엠)|:|@)|telegram|\btg\s*[:@]|\bt\.me\b/,
  /wechat|we\s*chat|weixin|위챗|微信|\b(?:wx|vx)\s*[:@]/,
  /\bline\s*(?:id|아이디|:)|라인\s*(?:아이디|id|계정|:|친추|친구\s*추가)|\bline\.me\b/,
  /whats\s*app|왓츠\s*앱|왓츠앱|discord|디스코드|디코\s*(?:아이디|id|서버)|snapchat|스냅챗|\bsignal\s*app\b|\bkik\b/,
  /(?:instagram|insta|인스타(?:그램)?|\big|트위터|twitter|\bx\s*계정|tiktok|틱톡|스레드|threads)\s*(?:id|아이디|계정|handle|dm|디엠|:)/,
  /(?:instagram|insta|인스타(?:그램)?|\big)\s*@?\s*[a-z0-9_]+[._][a-z0-9_.]+/,
  /(?:아이디|id)\s*(?:는|은|:|=)\s*[a-z0-9_.]{3,}/,
  /(?:dm|디엠|쪽지|개인\s*연락|따로\s*연락|연락)\s*(?:주세요|줘|me|하세요|해\s*주세요|드릴게요|할게요)/,
]

// ---------------------------------------------------------------------------------------------
// Numbers: phone and account numbers however the digits are written (`digitRuns`), and phone
// numbers libphonenumber-js recognises (international formats, Korean service numbers).

function numberViolation(folded: string, strict: boolean): Violation | undefined {
  const runs = digitRuns(folded)
  for (const run of runs) {
    const kind = classifyDigitRun(run)
    if (kind === 'phone') return 'phone'
    if (!strict) continue
    if (kind === 'account' || kind === 'card' || kind === 'rrn') return 'account'
    // Nine or more digits in one run are a number to call or pay, whatever the grouping.
    if (run.digits.length >= 9) return 'phone'
  }
  if (strict && phoneByLibrary(folded, runs)) return 'phone'
  return undefined
}

function phoneByLibrary(folded: string, runs: readonly DigitRun[]): boolean {
  const long = runs.filter((r) => r.digits.length >= 8).map((r) => r.digits)
  // The shortest number libphonenumber-js reports as valid here has 8 digits.
  const candidates = (folded.match(/\d/g)?.length ?? 0) >= 8 ? [folded, ...long] : long
  return candidates.some((text) =>
    findPhoneNumbersInText(text, { defaultCountry: 'KR' }).some(
      (m) =>
        m.number.isValid() &&
        // A bare 8-digit group is as often a date or a code; count it with a prefix only.
        (/^[+0]|^1[5-8]\d\d\D/.test(text.slice(m.startsAt, m.endsAt)) ||
          m.number.nationalNumber.length >= 9),
    ),
  )
}

// ---------------------------------------------------------------------------------------------
// Payloads: crypto wallets and base64 split into groups, long encoded runs.

/** Runs of Latin/digit chunks separated by spaces, dashes, dots …, joined into one string. */
function joinedChunks(folded: string): string[] {
  const out: string[] = []
  for (const m of folded.matchAll(
    /[A-Za-z0-9+/=]{3,}(?:[\s\-_.·|,~:]{1,3}[A-Za-z0-9+/=]{2,}){1,}|[A-Za-z0-9+/=]{16,}/g,
  )) {
    out.push(m[0].replace(/[\s\-_.·|,~:]+/g, ''))
  }
  return out
}

const BASE58 = '[1-9A-HJ-NP-Za-km-z]'
const WALLETS: readonly RegExp[] = [
  /0x[0-9a-fA-F]{40}/,
  /\b(?:bc1|tb1)[02-9ac-hj-np-z]{25,62}/i,
  new RegExp(`[13]${BASE58}{25,34}`),
  new RegExp(`T${BASE58}{33}`),
]

/** Mixed case and digits: what an address or a payload has and joined prose has not. */
const looksRandom = (s: string) =>
  (s.match(/\d/g)?.length ?? 0) >= 3 &&
  (s.match(/[A-Z]/g)?.length ?? 0) >= 3 &&
  (s.match(/[a-z]/g)?.length ?? 0) >= 3

function walletIn(chunk: string): boolean {
  if (WALLETS[0]?.test(chunk) || WALLETS[1]?.test(chunk)) return true
  return WALLETS.slice(2).some((re) => {
    const m = re.exec(chunk)
    return m !== null && looksRandom(m[0])
  })
}

/** Base64 that decodes to readable text: an instruction or a link smuggled past the reader. */
function base64Text(chunk: string): boolean {
  for (const m of chunk.matchAll(/[A-Za-z0-9+/]{16,}={0,2}/g)) {
    const candidate = m[0].slice(
      0,
      m[0].length - (m[0].replace(/=+$/, '').length % 4 === 1 ? 1 : 0),
    )
    let decoded: string
    try {
      decoded = atob(candidate.replace(/=+$/, '').padEnd(Math.ceil(candidate.length / 4) * 4, '='))
    } catch {
      continue
    }
    if (decoded.length < 10) continue
    const readable = decoded.replace(/[^\x20-\x7E\n\t]/g, '').length / decoded.length
    if (readable >= 0.9 && /[a-z]{3}/i.test(decoded)) return true
  }
  return false
}

const ENCODED = /[A-Za-z0-9+/_-]{28,}={0,2}|[A-Za-z0-9+/]{16,}={1,2}|\b[0-9a-f]{32,}\b/i

function payloadViolation(folded: string): Violation | undefined {
  const chunks = joinedChunks(folded)
  if (chunks.some(walletIn)) return 'wallet'
  if (ENCODED.test(folded)) return 'encoded-payload'
  if (chunks.some(base64Text)) return 'encoded-payload'
  return undefined
}

// ---------------------------------------------------------------------------------------------
// Markup and echoes of the prompt.

const MARKUP =
  /<\s*\/?\s*[a-z_!?]|&lt;|&gt;|```|\[\/?(?:b|i|u|s|url|img|code|quote|color|size)\b[^\]]*\]|\bon[a-z]+\s*=\s*["']/i

const INSTRUCTION_ECHO: readonly RegExp[] = [
  /(?:ignor|disregard|forget|overrid)\w*\s+(?:all\s+|the\s+|any\s+|my\s+|your\s+)*(?:previous|prior|above|earlier|preceding|former|original)/i,
  /system\s*prompt|developer\s*mode|jail\s*break|\bDAN\b|do anything now/i,
  /as an ai\b|language model|\bi am (?:an? )?(?:ai|assistant|claude|chatbot)\b/i,
  /시스템\s*프롬프트|프롬프트|이전\s*(?:의\s*)?지시|지시\s*(?:사항)?\s*(?:을|를)?\s*무시|개발자\s*모드|탈옥/u,
  /(?:AI|인공지능|언어\s*모델)\s*(?:로서|으로서|입니다|이에요|예요)/u,
  /instructions?\s*(?:are|were|say|:)|my instructions|confidential marker/i,
]

const words = (s: string) => s.split(/[^\p{L}\p{N}]+/u).filter(Boolean)
const alnum = (s: string) => s.replace(/[^\p{L}\p{N}]+/gu, '')

/** Word n-grams and character shingles of a system prompt, computed once per prompt. */
interface PromptPrint {
  grams: Set<string>
  shingles: Set<string>
  canary: string
  tags: string[]
  n: number
}

const SHINGLE = 8
const prints = new WeakMap<LeakGuard, PromptPrint>()

function printOf(guard: LeakGuard): PromptPrint {
  const known = prints.get(guard)
  if (known) return known
  const n = guard.ngram ?? 6
  const skeleton = viewsOf(guard.system).skeleton
  const src = words(skeleton)
  const grams = new Set<string>()
  for (let i = 0; i + n <= src.length; i++) grams.add(src.slice(i, i + n).join(' '))
  const flat = alnum(skeleton)
  const shingles = new Set<string>()
  for (let i = 0; i + SHINGLE <= flat.length; i++) shingles.add(flat.slice(i, i + SHINGLE))
  const print = {
    grams,
    shingles,
    canary: alnum(guard.canary.toLowerCase()),
    tags: (guard.tagNames ?? []).map((t) => alnum(t.toLowerCase())),
    n,
  }
  prints.set(guard, print)
  return print
}

/**
 * A leak of the system prompt, compared on skeletons (look-alike letters, spacing and case do
 * not hide it): the canary or a tag name anywhere; `n` consecutive words of the prompt; or most
 * of the text's character 8-grams found in the prompt (a paraphrase-free copy, however split).
 */
function leaks(views: TextViews, guard: LeakGuard): boolean {
  const print = printOf(guard)
  const flat = alnum(views.skeleton)
  const squeezedFlat = alnum(views.squeezed)
  if (flat.includes(print.canary) || squeezedFlat.includes(print.canary)) return true
  if (print.tags.some((t) => flat.includes(t))) return true
  const out = words(views.skeleton)
  for (let i = 0; i + print.n <= out.length; i++) {
    if (print.grams.has(out.slice(i, i + print.n).join(' '))) return true
  }
  const total = flat.length - SHINGLE + 1
  if (total < 16) return false
  let hits = 0
  for (let i = 0; i < total; i++) if (print.shingles.has(flat.slice(i, i + SHINGLE))) hits++
  return hits / total >= 0.5
}

/**
 * The first rule a model output breaks, or undefined when it may be shown to a user. The text
 * is inspected in its normalised views (`viewsOf`), so full-width, zero-width, look-alike,
 * entity-encoded, spelled-out and spaced-out tricks do not hide a link, a number or a handle.
 */
export function findViolation(text: string, guard?: LeakGuard): Violation | undefined {
  const views = viewsOf(text)
  const t = views.folded.trim()
  if (!t) return 'empty'
  if (guard && leaks(views, guard)) return 'prompt-leak'
  if (MARKUP.test(t) || MARKUP.test(views.skeleton)) return 'markup'
  const link = findLink(views)
  if (
    link === 'email' ||
    EMAIL_PATTERNS.some((re) => re.test(views.dotted) || re.test(views.skeleton))
  ) {
    return 'email'
  }
  if (link) return link
  if (CONTACT_PATTERNS.some((re) => re.test(views.skeleton) || re.test(views.squeezed))) {
    return 'contact-handle'
  }
  const numbers = numberViolation(t, true)
  if (numbers) return numbers
  const payload = payloadViolation(t)
  if (payload) return payload
  const policy = policyViolation(views)
  if (policy) return policy
  if (INSTRUCTION_ECHO.some((re) => re.test(t) || re.test(views.skeleton))) {
    return 'instruction-echo'
  }
  return undefined
}

/**
 * What the items of one answer say together: a link, number, handle, payload or prompt leak
 * split across items (poll options, several suggestions) that no single item shows. Only
 * rules that ordinary items side by side (years, counts, sentences) cannot trip are applied:
 * links on the items joined with spaces (joined without, `Thanks.` + `So happy` would read as
 * a `.so` domain), numbers only when they make a phone number.
 */
export function findJoinedViolation(
  texts: readonly string[],
  guard?: LeakGuard,
): Violation | undefined {
  if (texts.length < 2) return undefined
  const spaced = viewsOf(texts.join(' '))
  if (guard && leaks(spaced, guard)) return 'prompt-leak'
  const link = findLink(spaced)
  if (link) return link
  for (const views of [spaced, viewsOf(texts.join(''))]) {
    if (CONTACT_PATTERNS.slice(1).some((re) => re.test(views.squeezed))) return 'contact-handle'
    const numbers = numberViolation(views.folded, false)
    if (numbers) return numbers
    const chunks = joinedChunks(views.folded)
    if (chunks.some(walletIn)) return 'wallet'
    if (chunks.some(base64Text)) return 'encoded-payload'
  }
  return undefined
}
