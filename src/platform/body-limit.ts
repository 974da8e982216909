import type { GatewayError } from '../errors.js'
import { gatewayProblem } from '../problems.js'

/** The 408 problem for a body that did not arrive whole within `timeoutMs`. */
export function bodyTimeout(timeoutMs: number) {
  return gatewayProblem('body-timeout', {
    detail: `The request body did not arrive within ${timeoutMs} ms`,
    extra: { timeoutMs },
  })
}

/** The 413 problem for a body over `limit` bytes. */
export function payloadTooLarge(limit: number) {
  return gatewayProblem('payload-too-large', {
    detail: `The request body exceeds ${limit} bytes`,
    extra: { limitBytes: limit },
  })
}

/**
 * Counts the bytes of a body as they arrive, against the route's limit: the one count behind
 * every 413 for a body without a usable `Content-Length` (web streams, the Node socket read
 * for a native handler, the Node socket piped to legacy).
 */
export class BodyCounter {
  /** Bytes seen so far. */
  received = 0

  constructor(readonly limit: number) {}

  /** Count `bytes` more; true once the body is over the limit. */
  add(bytes: number): boolean {
    this.received += bytes
    return this.received > this.limit
  }

  /** The 413 problem for this limit. */
  problem(): GatewayError {
    return payloadTooLarge(this.limit)
  }
}

/**
 * A copy of `stream` that errors with the 413 problem as soon as more than `limit` bytes have
 * passed, so a reader (a handler parsing JSON, `fetch` uploading to the legacy function) stops
 * without buffering the rest. The source is cancelled.
 */
export function enforceStreamLimit(
  stream: ReadableStream<Uint8Array>,
  limit: number,
): ReadableStream<Uint8Array> {
  const count = new BodyCounter(limit)
  const reader = stream.getReader()
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read()
      if (done) return controller.close()
      if (count.add(value.byteLength)) {
        controller.error(count.problem())
        await reader.cancel().catch(() => {})
        return
      }
      controller.enqueue(value)
    },
    cancel(reason) {
      return reader.cancel(reason)
    },
  })
}
