/**
 * Text normalisation for detection: one pipeline shared by the personal-data masking of
 * untrusted input (`maskUntrusted` in pii.ts) and the AI output guard (`routes/ai/guard/`).
 *
 * The rule is: detect on normalised forms, show the original. Everything here builds a
 * *view* of a text for matching; what a user is shown is only cleaned (`cleanForDisplay`).
 *
 * Stages (each one defeats a family of disguises):
 * 1. NFKC: full-width `０１０`, circled `①`, mathematical `𝟎`, ligatures, `＠`, `．`.
 * 2. Invisible characters: every `Default_Ignorable_Code_Point` (zero-width space/joiners, bidi
 *    controls, soft hyphen, Hangul fillers, variation selectors 1–256, musical-symbol and
 *    shorthand format controls, the tag block U+E0000–E0FFF) and C0/C1 controls.
 * 3. Percent-encoding and numeric character references (`%2E`, `&#46;`, `&#x2e;`) decoded.
 * 4. Digits: a run of digit-like tokens (ASCII digits, other decimal digits, CJK numerals,
 *    Sino-Korean number words, O/o/l/I standing for 0 and 1) joined across separators
 *    (spaces, dots, dashes, the Hangul vowel ㅡ used as a dash, emoji), see `digitRuns`.
 */

/** Every character that renders as nothing, plus C0/C1 controls other than tab and newline. */
const INVISIBLE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
  /[\p{Default_Ignorable_Code_Point}\u{E0000}-\u{E0FFF}\uFFF9-\uFFFB\u0000-\u0008\u000B-\u001F\u007F-\u009F]/gu

/** Strip everything invisible (see `INVISIBLE`); line separators become newlines. */
export function stripInvisible(text: string): string {
  return text.replace(/[\u2028\u2029\r]/g, '\n').replace(INVISIBLE, '')
}

const PICTOGRAPHIC = /\p{Extended_Pictographic}|\p{Emoji_Modifier}|\u20E3/u
const ZWJ = 0x200d

/**
 * The text a user is shown: NFC, invisible characters removed, except the zero-width joiner
 * inside an emoji sequence (👨‍👩‍👧, ❤️‍🔥) and the emoji/text presentation selectors (U+FE0E,
 * U+FE0F) right after an emoji, which are part of how the emoji renders.
 */
export function cleanForDisplay(text: string): string {
  const chars = Array.from(text.normalize('NFC').replace(/[\u2028\u2029\r]/g, '\n'))
  let out = ''
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i] as string
    INVISIBLE.lastIndex = 0
    if (!INVISIBLE.test(ch)) {
      out += ch
      continue
    }
    const cp = ch.codePointAt(0) as number
    const prev = lastVisible(out)
    if (cp === 0xfe0f || cp === 0xfe0e) {
      if (prev && (PICTOGRAPHIC.test(prev) || /[#*0-9]/.test(prev))) out += ch
    } else if (cp === ZWJ) {
      const next = chars[i + 1]
      if (prev && next && PICTOGRAPHIC.test(prev) && PICTOGRAPHIC.test(next)) out += ch
    }
  }
  return out
}

/** The last character of `s` that is not a presentation selector (ZWJ sequences check it). */
function lastVisible(s: string): string | undefined {
  const chars = Array.from(s)
  for (let i = chars.length - 1; i >= 0; i--) {
    const ch = chars[i] as string
    if (ch !== '\uFE0F' && ch !== '\uFE0E') return ch
  }
  return undefined
}

const PERCENT_RUN = /(?:%[0-9A-Fa-f]{2})+/g
const NUMERIC_REF = /&#(?:[xX]([0-9A-Fa-f]{1,6})|([0-9]{1,7}));?/g

function decodePercentRun(run: string): string {
  try {
    return decodeURIComponent(run)
  } catch {
    // Not UTF-8: decode byte by byte as Latin-1, enough to reveal `%2E` and friends.
    return run.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) =>
      String.fromCharCode(Number.parseInt(hex, 16)),
    )
  }
}

function decodeNumericRef(_: string, hex?: string, dec?: string): string {
  const cp = hex ? Number.parseInt(hex, 16) : Number(dec)
  return cp > 0 && cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff) ? String.fromCodePoint(cp) : ''
}

// Conjoining jamo (U+1100 block) back to compatibility jamo (U+3131 block), for the lone jamo
// NFKC leaves behind (`ㄱ`, `ㅡ`, `ㅋㅋ` are written with compatibility jamo).
const CHOSEONG = 'ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ'
const JUNGSEONG = 'ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ'
const JONGSEONG = 'ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ'

function compatJamo(ch: string): string {
  const cp = ch.charCodeAt(0)
  if (cp >= 0x1100 && cp <= 0x1112) return CHOSEONG[cp - 0x1100] as string
  if (cp >= 0x1161 && cp <= 0x1175) return JUNGSEONG[cp - 0x1161] as string
  if (cp >= 0x11a8 && cp <= 0x11c2) return JONGSEONG[cp - 0x11a8] as string
  return ch
}

/**
 * NFKC that keeps Hangul compatibility jamo as they are: NFKC maps them to conjoining jamo
 * (and composes some into syllables), which would turn the Hangul vowel `ㅡ` used as a dash,
 * `ㅋㅋ` or `ㅅㅂ` into other characters.
 */
export function nfkc(text: string): string {
  return text.replace(/[^ㄱ-ㆎ]+/g, (s) => s.normalize('NFKC')).replace(/[ᄀ-하-ᅵᆨ-ᇂ]/g, compatJamo)
}

/**
 * NFKC, invisible characters removed, percent-encoding and numeric character references
 * decoded (twice, for double encoding), NFKC again on what decoding produced.
 */
export function foldText(text: string): string {
  let s = stripInvisible(nfkc(text))
  for (let round = 0; round < 2; round++) {
    const before = s
    if (s.includes('%')) s = s.replace(PERCENT_RUN, decodePercentRun)
    if (s.includes('&#')) s = s.replace(NUMERIC_REF, decodeNumericRef)
    if (s === before) break
    s = stripInvisible(nfkc(s))
  }
  return s
}

// ---------------------------------------------------------------------------------------------
// Digits

const KOREAN_DIGITS: Record<string, string> = {
  공: '0',
  영: '0',
  일: '1',
  이: '2',
  삼: '3',
  사: '4',
  오: '5',
  육: '6',
  륙: '6',
  칠: '7',
  팔: '8',
  구: '9',
}
const CJK_DIGITS: Record<string, string> = {
  〇: '0',
  零: '0',
  一: '1',
  壹: '1',
  二: '2',
  貳: '2',
  三: '3',
  參: '3',
  四: '4',
  五: '5',
  六: '6',
  七: '7',
  八: '8',
  九: '9',
}
const LATIN_DIGITS: Record<string, string> = { o: '0', O: '0', l: '1', I: '1', ㅣ: '1' }

/** One token of a text for digit-run analysis. */
type Token =
  | { kind: 'digits'; start: number; end: number; value: string }
  | { kind: 'word'; start: number; end: number; text: string; script: 'ko' | 'cjk' | 'latin' }
  | { kind: 'sep'; start: number; end: number; length: number }
  | { kind: 'break'; start: number; end: number }

/** Written numbers that are not contact details: dates, times, prices with thousands commas. */
const NOT_A_NUMBER =
  /(?<![\p{N}])(?:(?:19|20)\d{2}\s?[./-]\s?\d{1,2}\s?[./-]\s?\d{1,2}(?![\d])|\d{1,2}\s?:\s?\d{2}(?:\s?:\s?\d{2})?(?![\d])|\d{1,3}(?:,\d{3})+(?![\d,]))/gu

const TOKEN =
  /(\p{Nd}+)|([\uAC00-\uD7A3]+)|([〇零一壹二貳三參四五六七八九]+)|([A-Za-zㅣ]+)|([\s\p{P}\p{S}ㅡー\u3164]+)|([\s\S])/gu

const PARTICLE_AFTER_DIGITS =
  /^([공영일이삼사오육륙칠팔구]{3,}?)(으로요|으로|로요|로|에요|이에요|예요|입니다|이요|번|요|은|는|을|를|까지|이랑|랑|하고|에|가)$/

function decimalValue(ch: string): string {
  const cp = ch.codePointAt(0) as number
  if (cp >= 0x30 && cp <= 0x39) return ch
  // Decimal digits of every script sit in blocks of ten starting at their zero.
  let zero = cp
  while (zero > cp - 9 && /\p{Nd}/u.test(String.fromCodePoint(zero - 1))) zero--
  return String((cp - zero) % 10)
}

function tokenize(text: string): Token[] {
  const masked = text.replace(NOT_A_NUMBER, (m) => '\u0001'.repeat(m.length))
  const tokens: Token[] = []
  for (const m of masked.matchAll(TOKEN)) {
    const start = m.index
    const end = start + m[0].length
    if (m[1]) {
      tokens.push({ kind: 'digits', start, end, value: Array.from(m[1], decimalValue).join('') })
    } else if (m[2]) {
      // `오육칠팔로`: a particle glued to spelled digits is not part of the number.
      const split = PARTICLE_AFTER_DIGITS.exec(m[2])
      if (split?.[1] && split[2]) {
        const cut = start + split[1].length
        tokens.push({ kind: 'word', start, end: cut, text: split[1], script: 'ko' })
        tokens.push({ kind: 'break', start: cut, end })
      } else {
        tokens.push({ kind: 'word', start, end, text: m[2], script: 'ko' })
      }
    } else if (m[3]) {
      tokens.push({ kind: 'word', start, end, text: m[3], script: 'cjk' })
    } else if (m[4]) {
      tokens.push({ kind: 'word', start, end, text: m[4], script: 'latin' })
    } else if (m[5]) {
      // A colon marks a time or a label, not a digit separator.
      if (m[5].includes(':')) tokens.push({ kind: 'break', start, end })
      else tokens.push({ kind: 'sep', start, end, length: Array.from(m[5]).length })
    } else {
      tokens.push({ kind: 'break', start, end })
    }
  }
  return tokens
}

function digitsOfWord(token: Extract<Token, { kind: 'word' }>): string | undefined {
  const table =
    token.script === 'ko' ? KOREAN_DIGITS : token.script === 'cjk' ? CJK_DIGITS : LATIN_DIGITS
  let out = ''
  for (const ch of token.text) {
    const d = table[ch]
    if (d === undefined) return undefined
    out += d
  }
  return out
}

/** A run of digits found in a text, with the span it covers in that text. */
export interface DigitRun {
  start: number
  end: number
  digits: string
  /** Number of digit groups the run was written in (separators between them). */
  groups: number
}

/** Longest separator (in characters) still read as joining two digit groups. */
const MAX_SEPARATOR = 6

/**
 * Runs of digits in `text`, written however: `010-1234-5678`, `０１０ㅡ１２３４`,
 * `공일공 일이삼사 오육칠팔`, `O1O.l234.5678`, `010🌟1234🌟5678`, `零一零…`.
 *
 * Number words count only in digit context, so ordinary Korean stays Korean: a word made only
 * of Sino-Korean number syllables counts when it is three syllables or longer, or when digits
 * stand on both sides of it; `일` right after digits is the day counter (`3일`), never a digit.
 * Latin O/o/l/I count only as a whole word next to digits. Dates (`2025.01.05`), times
 * (`19:30`) and comma-grouped amounts (`1,000,000`) are not runs.
 */
export function digitRuns(text: string): DigitRun[] {
  const tokens = tokenize(text)
  // Resolve each word to digits or to a break, looking at its neighbours.
  const values: Array<string | undefined> = tokens.map((t) =>
    t.kind === 'digits' ? t.value : undefined,
  )
  const neighbour = (i: number, step: 1 | -1): number | undefined => {
    let j = i + step
    const at = tokens[j]
    if (at?.kind === 'sep') {
      if (at.length > MAX_SEPARATOR) return undefined
      j += step
    }
    return tokens[j] ? j : undefined
  }
  const isDigits = (j: number | undefined) => j !== undefined && tokens[j]?.kind === 'digits'
  for (const [i, token] of tokens.entries()) {
    if (token.kind !== 'word') continue
    const digits = digitsOfWord(token)
    if (digits === undefined) continue
    const before = neighbour(i, -1)
    const after = neighbour(i, 1)
    const glued = tokens[i - 1]?.kind === 'digits'
    if (token.script === 'latin') {
      if (isDigits(before) || isDigits(after)) values[i] = digits
    } else if (token.script === 'ko' && glued && token.text.startsWith('일')) {
      // `3일`, `15일이에요`: a day, not a digit.
    } else if (Array.from(token.text).length >= 3) {
      values[i] = digits
    } else if (isDigits(before) && isDigits(after)) {
      values[i] = digits
    }
  }
  // Second pass: short number words next to words resolved above (`공일공 일이 삼사`).
  for (const [i, token] of tokens.entries()) {
    if (token.kind !== 'word' || values[i] !== undefined || token.script === 'latin') continue
    const digits = digitsOfWord(token)
    if (digits === undefined) continue
    const before = neighbour(i, -1)
    const after = neighbour(i, 1)
    const resolved = (j: number | undefined) =>
      j !== undefined && values[j] !== undefined && tokens[j]?.kind === 'word'
    if (resolved(before) || resolved(after)) values[i] = digits
  }

  const runs: DigitRun[] = []
  let current: DigitRun | undefined
  let pendingSep: Token | undefined
  for (const [i, token] of tokens.entries()) {
    const value = values[i]
    if (value !== undefined) {
      if (current && (pendingSep === undefined || pendingSep.kind === 'sep')) {
        current.digits += value
        current.end = token.end
        current.groups += pendingSep ? 1 : 0
      } else {
        if (current) runs.push(current)
        current = { start: token.start, end: token.end, digits: value, groups: 1 }
      }
      pendingSep = undefined
      continue
    }
    if (token.kind === 'sep' && token.length <= MAX_SEPARATOR && current && !pendingSep) {
      pendingSep = token
      continue
    }
    if (current) runs.push(current)
    current = undefined
    pendingSep = undefined
  }
  if (current) runs.push(current)
  return runs
}

// ---------------------------------------------------------------------------------------------
// Personal numbers in untrusted text

const RRN_WEIGHTS = [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5]

/** A resident registration number: plausible birth date and sex/century digit (1–8). */
export function looksLikeResidentNumber(digits: string, checkDigit: boolean): boolean {
  if (digits.length !== 13) return false
  const month = Number(digits.slice(2, 4))
  const day = Number(digits.slice(4, 6))
  const sex = digits.charCodeAt(6) - 48
  if (month < 1 || month > 12 || day < 1 || day > 31 || sex < 1 || sex > 8) return false
  if (!checkDigit) return true
  let sum = 0
  for (let i = 0; i < 12; i++) sum += (digits.charCodeAt(i) - 48) * (RRN_WEIGHTS[i] as number)
  return (11 - (sum % 11)) % 10 === digits.charCodeAt(12) - 48
}

/** What a run of digits in untrusted text is, or undefined when it may stay. */
export function classifyDigitRun(run: DigitRun): 'rrn' | 'phone' | 'card' | 'account' | undefined {
  const d = run.digits
  // Written as 6 + 7 with any separator, the shape itself says resident number.
  if (d.length === 13 && looksLikeResidentNumber(d, run.groups === 1)) return 'rrn'
  if (/^(?:82)?0?1[016789]\d{7,8}$/.test(d) || /^0(?:2|[3-6][1-5]|70|50\d)\d{7,8}$/.test(d)) {
    return 'phone'
  }
  if (d.length >= 13 && d.length <= 19 && luhn(d) && /^[2-69]/.test(d)) return 'card'
  // Bank accounts are 10–14 digits; more than 9 digits written in groups is a number to hide.
  if (d.length >= 10 && d.length <= 14 && run.groups >= 2) return 'account'
  if (d.length >= 9 && run.groups >= 3) return 'account'
  return undefined
}

/** The Luhn check digit test card numbers carry (ISO/IEC 7812). */
export function luhn(digits: string): boolean {
  let sum = 0
  for (let i = digits.length - 1, double = false; i >= 0; i--, double = !double) {
    let d = digits.charCodeAt(i) - 48
    if (double) {
      d *= 2
      if (d > 9) d -= 9
    }
    sum += d
  }
  return sum % 10 === 0
}
