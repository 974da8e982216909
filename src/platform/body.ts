import type { AppContext } from '../types.js'

const EMPTY = new Uint8Array(0)

/**
 * Read the request body whole, once; later readers (a native handler through `c.req.json()`,
 * a replay to legacy) reuse the same bytes. Callers bound the size first (the route's body
 * limit is enforced before this runs).
 */
export async function bufferBody(c: AppContext): Promise<Uint8Array> {
  const cached = c.var.bufferedBody
  if (cached) return cached
  if (c.req.method === 'GET' || c.req.method === 'HEAD') return EMPTY
  const bytes = new Uint8Array(await c.req.arrayBuffer())
  c.set('bufferedBody', bytes)
  return bytes
}

const decoder = new TextDecoder()

/** JSON from bytes, or undefined when empty or not JSON. */
export function parseJson(bytes: Uint8Array): unknown {
  if (bytes.length === 0) return undefined
  try {
    return JSON.parse(decoder.decode(bytes))
  } catch {
    return undefined
  }
}
