import { decodeHTML } from 'entities'
import { foldText } from '../../../src/observability/normalise.js'
import { CONFUSABLE_ENTRIES } from './confusables.js'

/**
 * The views of one output text the guard's detectors look at. Built once per text; the text
 * shown to the user is never one of them (see `cleanForDisplay`).
 *
 * - `folded`: `foldText` (NFKC, invisible characters removed, percent-encoding and numeric
 *   character references decoded) plus named HTML entities (`&period;`, `&commat;`).
 * - `skeleton`: `folded` lower-cased with look-alike letters folded to their ASCII prototype
 *   (Unicode TR39 confusables: Cyrillic `а`, Greek `ο`, small capitals `ᴄᴏᴍ`) and jamo written
 *   one by one composed into syllables (`ㅋㅏㅋㅗ` → `카코`). Korean syllables are unchanged.
 * - `squeezed`: `skeleton` with the separators between single letters removed
 *   (`k a k a o`, `카 카 오 톡`, `t.e.l.e.g.r.a.m`).
 * - `dotted` (and `spacedOut`, the same of the squeezed text): `skeleton` with spelled-out dots and at-signs written as `.` and `@` between
 *   Latin/digit tokens (`evil 닷 com`, `evil[.]com`, `kim 골뱅이 naver 점 com`), Korean TLD
 *   words as ASCII (`닷컴` → `.com`) and a space between Latin and Hangul (`evil.com에서`).
 */
export interface TextViews {
  folded: string
  skeleton: string
  squeezed: string
  dotted: string
  /** `dotted` of the text squeezed with its dots and at-signs kept (`e v i l . c o m`). */
  spacedOut: string
}

let confusables: Map<number, string> | undefined

function confusableMap(): Map<number, string> {
  if (confusables) return confusables
  const map = new Map<number, string>()
  for (const entry of CONFUSABLE_ENTRIES.split(' ')) {
    const colon = entry.indexOf(':')
    map.set(Number.parseInt(entry.slice(0, colon), 36), entry.slice(colon + 1))
  }
  // Latin small capitals that TR39 maps to other IPA letters rather than to ASCII.
  const smallCaps = 'ᴀaʙbᴄcᴅdᴇeꜰfɢgʜhɪiᴊjᴋkʟlᴍmɴnᴏoᴘpʀrꜱsᴛtᴜuᴠvᴡwʏyᴢzǫq'
  for (let i = 0; i < smallCaps.length; i += 2) {
    map.set(smallCaps.codePointAt(i) as number, smallCaps[i + 1] as string)
  }
  confusables = map
  return map
}

/** Fold look-alike letters to ASCII; ASCII, Hangul and anything not in the table stay. */
export function skeletonOf(text: string): string {
  const map = confusableMap()
  let out = ''
  for (const ch of text) {
    const cp = ch.codePointAt(0) as number
    out += cp < 0x80 ? ch : (map.get(cp) ?? ch)
  }
  return out.toLowerCase()
}

// Compatibility jamo (U+3131–3163) to the indexes of Unicode's syllable composition.
const INITIALS = 'ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ'
const VOWELS = 'ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ'
const FINALS = ' ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ'

/**
 * Compose jamo written one by one into syllables: `ㅋㅏㅋㅏㅇㅗㅌㅗㄱ` → `카카오톡`. Lone
 * consonants and vowels (`ㅋㅋ`, `ㅠㅠ`) have nothing to compose and stay.
 */
export function composeJamo(text: string): string {
  if (!/[\u3131-\u3163]/.test(text)) return text
  const chars = Array.from(text)
  let out = ''
  for (let i = 0; i < chars.length; i++) {
    const l = INITIALS.indexOf(chars[i] as string)
    const v = l >= 0 ? VOWELS.indexOf(chars[i + 1] ?? '') : -1
    if (l < 0 || v < 0) {
      out += chars[i]
      continue
    }
    let t = 0
    const final = chars[i + 2]
    const afterFinal = chars[i + 3]
    const f = final ? FINALS.indexOf(final) : -1
    // A consonant followed by a vowel starts the next syllable instead.
    if (f > 0 && (afterFinal === undefined || VOWELS.indexOf(afterFinal) < 0)) t = f
    out += String.fromCharCode(0xac00 + (l * 21 + v) * 28 + t)
    i += t ? 2 : 1
  }
  return out
}

/**
 * Join single letters/jamo/syllables that stand apart: `k a k a o`, `카.카.오`, `ㅋ ㅏ ㅋ ㅗ`.
 * With `keep`, those characters stay (`e v i l . c o m` → `evil.com`).
 */
function squeeze(text: string, keep?: RegExp): string {
  return text.replace(
    /(?<![\p{L}\p{N}])[\p{L}\p{N}](?:[\s\p{P}\p{S}]{1,3}[\p{L}\p{N}](?![\p{L}\p{N}])){2,}/gu,
    (run) => run.replace(/[^\p{L}\p{N}]+/gu, (sep) => (keep ? sep.replace(keep, '') : '')),
  )
}

const SPELLED_DOT = String.raw`\s*(?:\[\s*(?:\.|dot|닷|점)\s*\]|\(\s*(?:\.|dot|닷|점)\s*\)|\{\s*(?:\.|dot)\s*\}|<\s*(?:\.|dot)\s*>|\bdot\b|닷|쩜|점|[。．・·｡∙•]|(?<=\s)\.)\s*`
const KOREAN_TLD: Record<string, string> = {
  컴: 'com',
  넷: 'net',
  오알지: 'org',
  케이알: 'kr',
  씨오: 'co',
  아이오: 'io',
  미: 'me',
  엘와이: 'ly',
  티비: 'tv',
  앱: 'app',
  샵: 'shop',
}
const TLD_WORD = Object.keys(KOREAN_TLD).join('|')
const DOT_BETWEEN = new RegExp(
  `([a-z0-9-])${SPELLED_DOT}(?=[a-z0-9]|(?:${TLD_WORD})(?![가-힣]))`,
  'gu',
)
const KOREAN_TLD_AFTER_DOT = new RegExp(String.raw`\.(${TLD_WORD})(?![가-힣])`, 'gu')
const SPELLED_AT =
  /([a-z0-9._-])\s*(?:골뱅이|앳|\[\s*at\s*\]|\(\s*at\s*\)|\{\s*at\s*\}|<\s*at\s*>|\s\bat\b\s|＠|@)\s*(?=[a-z0-9])/gu
const PREFIX_DOTCOM = new RegExp(
  String.raw`(?<![a-z0-9])(?:닷|쩜|점)\s*(${TLD_WORD})(?![가-힣])`,
  'gu',
)

function spellDots(skeleton: string): string {
  let s = skeleton.replace(PREFIX_DOTCOM, (_, tld: string) => `.${KOREAN_TLD[tld]}`)
  s = s.replace(DOT_BETWEEN, '$1.')
  s = s.replace(KOREAN_TLD_AFTER_DOT, (_, tld: string) => `.${KOREAN_TLD[tld]}`)
  s = s.replace(SPELLED_AT, '$1@')
  // `evil.com에서`: a particle glued to a domain is not part of it.
  return s.replace(/([a-z0-9])(?=[\u3131-\u318E\uAC00-\uD7A3])/gu, '$1 ')
}

/** Build every view of one text. */
export function viewsOf(text: string): TextViews {
  let folded = foldText(text)
  if (folded.includes('&')) folded = foldText(decodeHTML(folded))
  const skeleton = composeJamo(skeletonOf(folded))
  const squeezed = composeJamo(squeeze(skeleton))
  return {
    folded,
    skeleton,
    squeezed,
    dotted: spellDots(skeleton),
    spacedOut: spellDots(squeeze(skeleton, /[^.@:/]+/g)),
  }
}
