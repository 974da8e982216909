import { GatewayError } from '../src/errors.js'
import { applyGatewayHeaders } from '../src/platform/response-headers.js'
import { upstreamTimeout, upstreamUnavailable } from '../src/problems.js'
import { connectionTokens, isForwardableResponseHeader } from './headers.js'
import { clientClosed, type LegacyTransport, serverTiming } from './transport.js'

export interface FetchTransportOptions {
  headersTimeoutMs: number
  totalTimeoutMs: number
  fetch?: typeof fetch
}

/**
 * The Workers transport: the platform's `fetch`, streaming both ways, never following
 * redirects. Client aborts reach the upstream through the request's signal.
 *
 * Framing is the platform's, from the body given: bytes or a stream (chunked), or none. A
 * streamed body that fails (the client gone mid-upload, the body limit) aborts the upstream
 * request before the failure reaches `fetch`: workerd would otherwise end the chunked upload
 * cleanly and legacy would run a truncated request.
 */
export function fetchTransport({
  headersTimeoutMs,
  totalTimeoutMs,
  fetch: fetchImpl = fetch,
}: FetchTransportOptions): LegacyTransport {
  return {
    kind: 'fetch',
    async forward(c, call, onOutcome) {
      const headers = new Headers()
      for (let i = 0; i < call.headers.length; i += 2) {
        headers.append(call.headers[i] as string, call.headers[i + 1] as string)
      }
      const headersDeadline = new AbortController()
      const headersTimer = setTimeout(() => headersDeadline.abort(), headersTimeoutMs)
      const bodyFailed = new AbortController()
      const signal = AbortSignal.any([
        c.req.raw.signal,
        headersDeadline.signal,
        bodyFailed.signal,
        AbortSignal.timeout(totalTimeoutMs),
      ])
      const body =
        call.body === 'stream'
          ? c.req.raw.body && abortOnError(c.req.raw.body, bodyFailed)
          : call.body
      const sent = performance.now()
      let upstream: Response
      try {
        upstream = await fetchImpl(call.target, {
          method: call.method,
          headers,
          body,
          redirect: 'manual',
          signal,
          // Streaming request bodies need half-duplex in undici; workerd ignores it.
          ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
        } as RequestInit)
      } catch (error) {
        if (error instanceof GatewayError) throw error
        if (bodyFailed.signal.aborted) {
          const reason = bodyFailed.signal.reason
          throw reason instanceof GatewayError ? reason : clientClosed()
        }
        if (signal.aborted && !c.req.raw.signal.aborted) {
          throw upstreamTimeout('The legacy function did not answer in time')
        }
        throw upstreamUnavailable('The legacy function could not be reached', error)
      } finally {
        clearTimeout(headersTimer)
      }
      const headersMs = performance.now() - sent
      const out = new Headers()
      const connection = connectionTokens(upstream.headers.get('connection'))
      upstream.headers.forEach((value, name) => {
        if (name !== 'set-cookie' && isForwardableResponseHeader(name, connection))
          out.set(name, value)
      })
      for (const cookie of upstream.headers.getSetCookie()) out.append('set-cookie', cookie)
      applyGatewayHeaders(out, call.responseHeaders)
      out.set('server-timing', serverTiming(headersMs, call.startedAt, performance.now()))
      onOutcome({ status: upstream.status, headersMs })
      return new Response(upstream.body, { status: upstream.status, headers: out })
    },
  }
}

/** A copy of `stream` that aborts `upstream` (with the error as reason) when `stream` fails. */
function abortOnError(
  stream: ReadableStream<Uint8Array>,
  upstream: AbortController,
): ReadableStream<Uint8Array> {
  const reader = stream.getReader()
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read()
        if (done) controller.close()
        else controller.enqueue(value)
      } catch (error) {
        upstream.abort(error)
        controller.error(error)
      }
    },
    cancel(reason) {
      return reader.cancel(reason)
    },
  })
}
