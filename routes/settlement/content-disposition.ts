/**
 * `Content-Disposition: attachment` with a non-ASCII file name (RFC 6266 section 4.3): a plain
 * ASCII `filename` for old clients, and the real name as `filename*` in RFC 5987/8187
 * encoding (UTF-8, percent-encoded), which clients that know it prefer.
 *
 * @example
 * attachment('정산명세서_2026-01.pdf', 'statement_2026-01.pdf')
 * // attachment; filename="statement_2026-01.pdf"; filename*=UTF-8''%EC%A0%95...
 */
export function attachment(name: string, asciiFallback: string): string {
  const fallback = asciiFallback.replace(/[^\x20-\x7e]|["\\]/g, '_')
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encodeRfc5987(name)}`
}

/** RFC 5987 `value-chars`: attr-char stays, everything else is percent-encoded UTF-8. */
function encodeRfc5987(value: string): string {
  return encodeURIComponent(value).replace(
    /['()*]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  )
}
