/** Keyset cursor over (created_at, id), opaque to the client: base64url of `<iso>|<id>`. */

const toBase64Url = (text: string) =>
  btoa(String.fromCharCode(...new TextEncoder().encode(text)))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '')

export function encodeCursor(at: string, id: string): string {
  return toBase64Url(`${at}|${id}`)
}

/** The cursor's position, or undefined when it is not one of ours. */
export function decodeCursor(cursor: string): { at: string; id: string } | undefined {
  try {
    const text = new TextDecoder().decode(
      Uint8Array.from(atob(cursor.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0)),
    )
    const bar = text.indexOf('|')
    const at = text.slice(0, bar)
    const id = text.slice(bar + 1)
    if (bar < 1 || !id || Number.isNaN(Date.parse(at))) return undefined
    return { at, id }
  } catch {
    return undefined
  }
}
