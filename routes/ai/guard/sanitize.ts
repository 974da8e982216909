import { nfkc, stripInvisible } from '../../../src/observability/normalise.js'
import { maskUntrusted } from '../../../src/observability/pii.js'

/**
 * Normalise text for inspection or prompting: NFKC (full-width and compatibility look-alikes
 * such as `ｈｔｔｐ`, `＜` or circled digits become their plain forms; Hangul compatibility jamo
 * such as `ㅋㅋ` are kept, see `nfkc`), every invisible
 * character removed (`Default_Ignorable_Code_Point`: zero-width and bidi controls, variation
 * selectors 1–256, tag characters, musical and shorthand format controls; see
 * `src/observability/normalise.ts`) and C0/C1 controls, line separators made plain newlines.
 * Used on the untrusted text that goes into a prompt, where hidden characters hide instructions
 * from a human reviewer (Unicode TR36, "Trojan Source" CVE-2021-42574).
 */
export function normalizeText(text: string): string {
  return stripInvisible(nfkc(text))
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
  /** Personal-data mask applied before the text leaves the gateway (`maskUntrusted`). */
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
  { maxChars, tagNames = [], mask = maskUntrusted }: SanitizeOptions,
): string {
  let out = mask(normalizeText(text))
  out = out.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
  if (tagNames.length) {
    const names = new RegExp(tagNames.map(escapeRegExp).join('|'), 'gi')
    out = out.replace(names, (name) => name.replace(/_/g, ' '))
  }
  return truncate(out.trim(), maxChars)
}
