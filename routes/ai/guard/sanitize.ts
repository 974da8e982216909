import { maskString } from '../../../src/observability/pii.js'

/**
 * Characters that render as nothing or reorder text: zero-width joiners and spaces, bidi
 * embeddings/overrides/isolates, the soft hyphen, word joiners, invisible operators and the
 * Unicode "tag" block, all of which are used to hide instructions from a human reviewer or to
 * split a keyword past a filter (Unicode TR36, "Trojan Source" CVE-2021-42574).
 */
const INVISIBLE = new RegExp(
  [
    '[\\u00AD\\u061C\\u115F\\u1160\\u17B4\\u17B5\\u200B-\\u200F\\u202A-\\u202E\\u2060-\\u206F]',
    '[\\u3164\\uFEFF\\uFFA0\\uFFF9-\\uFFFB\\u{E0000}-\\u{E007F}]',
    // Combining marks that render as nothing: grapheme joiner and variation selectors 1-15
    // (VS16, U+FE0F, stays: it makes emoji render as emoji).
    '\\u034F',
    '[\\u180B-\\u180F]',
    '[\\uFE00-\\uFE0E]',
  ].join('|'),
  'gu',
)

/** C0/C1 controls other than tab and newline. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
const CONTROLS = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/g

/**
 * Normalise text for inspection or prompting: NFKC (full-width and compatibility look-alikes
 * such as `ｈｔｔｐ`, `＜` or circled digits become their plain forms), invisible and control
 * characters removed, line separators made plain newlines.
 */
export function normalizeText(text: string): string {
  return text
    .normalize('NFKC')
    .replace(/[\u2028\u2029\r]/g, '\n')
    .replace(INVISIBLE, '')
    .replace(CONTROLS, '')
}

/** Appended where untrusted text was cut, so the model (and a reader) knows it is partial. */
export const TRUNCATION_MARKER = '…[truncated]'

/** Cut to at most `maxChars` code points, marker included, never splitting a surrogate pair. */
export function truncate(text: string, maxChars: number): string {
  const chars = Array.from(text)
  if (chars.length <= maxChars) return text
  const keep = Math.max(0, maxChars - Array.from(TRUNCATION_MARKER).length)
  return chars.slice(0, keep).join('') + TRUNCATION_MARKER
}

export interface SanitizeOptions {
  maxChars: number
  /** Tag names used to frame data; occurrences inside the data are defused. */
  tagNames?: readonly string[]
  /** Personal-data mask applied before the text leaves the gateway. */
  mask?: (text: string) => string
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/**
 * Make untrusted fan or creator text safe to place between data tags: normalised, masked,
 * angle brackets escaped (so no `</fan_message>` can close the frame, whatever look-alike it was
 * written with), the framing tag names defused and the length bounded.
 */
export function sanitizeUntrusted(
  text: string,
  { maxChars, tagNames = [], mask = maskString }: SanitizeOptions,
): string {
  let out = mask(normalizeText(text))
  out = out.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
  if (tagNames.length) {
    const names = new RegExp(tagNames.map(escapeRegExp).join('|'), 'gi')
    out = out.replace(names, (name) => name.replace(/_/g, ' '))
  }
  return truncate(out.trim(), maxChars)
}
