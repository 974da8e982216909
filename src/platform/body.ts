import type { IncomingMessage } from 'node:http'
import type { AppContext } from '../types.js'
import { BodyCounter, bodyTimeout } from './body-limit.js'
import { nodeRequest } from './runtime.js'

const EMPTY = new Uint8Array(0)

/**
 * Read the request body whole, once; later readers (a native handler through `c.req.json()`,
 * a replay to legacy) reuse the same bytes. A declared Content-Length was already checked
 * against the route's limit; a chunked body read from the Node socket is counted here.
 */
export async function bufferBody(c: AppContext): Promise<Uint8Array> {
  const cached = c.get('bufferedBody')
  if (cached) return cached
  if (c.req.method === 'GET' || c.req.method === 'HEAD') return EMPTY
  const incoming = nodeRequest(c)
  let bytes: Uint8Array<ArrayBuffer>
  if (incoming && incoming.headers['content-length'] === undefined) {
    bytes = await beforeDeadline(
      c,
      readLimited(incoming, c.get('route')?.def.policy.bodyLimitBytes ?? Number.POSITIVE_INFINITY),
    )
    // Handlers read the body through `c.req`: give them a request that holds these bytes.
    c.req.raw = new Request(c.req.url, {
      method: c.req.method,
      headers: c.req.raw.headers,
      body: bytes,
    })
  } else {
    bytes = new Uint8Array(await beforeDeadline(c, c.req.arrayBuffer()))
  }
  c.set('bufferedBody', bytes)
  return bytes
}

/**
 * `reading`, or the 408 problem when the body deadline (`c.var.bodyDeadline`) passes first.
 * The answer closes the connection: the rest of a trickled body is not waited for.
 */
function beforeDeadline<T>(c: AppContext, reading: Promise<T>): Promise<T> {
  const deadline = c.get('bodyDeadline')
  if (deadline === undefined) return reading
  let timer: ReturnType<typeof setTimeout> | undefined
  const cut = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => {
        const error = bodyTimeout(Math.round(deadline - (c.get('startedAt') ?? deadline)))
        error.headers.connection = 'close'
        reject(error)
      },
      Math.max(0, deadline - performance.now()),
    )
  })
  reading.catch(() => {})
  return Promise.race([reading, cut]).finally(() => clearTimeout(timer))
}

function readLimited(incoming: IncomingMessage, limit: number): Promise<Uint8Array<ArrayBuffer>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    const count = new BodyCounter(limit)
    incoming.on('data', (chunk: Buffer) => {
      if (count.add(chunk.length)) {
        incoming.removeAllListeners('data')
        incoming.resume()
        reject(count.problem())
        return
      }
      chunks.push(chunk)
    })
    incoming.once('end', () => resolve(Buffer.concat(chunks)))
    incoming.once('error', reject)
  })
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
