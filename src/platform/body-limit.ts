import { GatewayError } from '../errors.js'

/** The 413 problem for a body over `limit` bytes. */
export function payloadTooLarge(limit: number) {
  return new GatewayError({
    status: 413,
    code: 'payload-too-large',
    title: 'Payload too large',
    detail: `The request body exceeds ${limit} bytes`,
    extra: { limitBytes: limit },
  })
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
  let seen = 0
  const reader = stream.getReader()
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read()
      if (done) return controller.close()
      seen += value.byteLength
      if (seen > limit) {
        controller.error(payloadTooLarge(limit))
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
