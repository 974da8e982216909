import { gatewayProblem } from '../src/problems.js'
import type { AppContext } from '../src/types.js'

/** Nobody reads this answer; the status (nginx's 499) is for the access log and metrics. */
export const clientClosed = () =>
  gatewayProblem('client-closed', {
    detail: 'The client went away before the legacy function answered',
  })

/** One request to a legacy function, prepared by the gateway. */
export interface LegacyCall {
  target: string
  /** The legacy function called (the bulkhead counts calls per function). */
  functionName: string
  method: string
  /**
   * Upstream request headers as a flat `[name, value, ...]` list (see `upstreamRequestHeaders`),
   * without any framing header: the transport frames the body it actually sends.
   */
  headers: string[]
  /**
   * The body to send: bytes already buffered (a replay after a native failure), or `stream` to
   * stream the client's body as it arrives, or null for none.
   */
  body: Uint8Array | 'stream' | null
  /**
   * For a streamed body, the length the client declared: the upstream gets this
   * `Content-Length` and exactly that many bytes. Undefined: the body is sent chunked.
   */
  bodyLength?: number
  /** Headers the gateway adds to the response (x-bff-backend, x-request-id, CORS, ...). */
  responseHeaders: Record<string, string>
  /** performance.now() when the gateway started handling the request (for server-timing). */
  startedAt: number
  /** When a streamed body must have arrived whole (performance.now()); past it, 408. */
  bodyDeadline?: number
  /** Largest body to stream upstream; beyond it the call fails with 413. */
  bodyLimitBytes: number
}

/** What the transport reports back for logs and metrics. */
export interface LegacyOutcome {
  status: number
  /** Milliseconds until the upstream's response headers arrived. */
  headersMs: number
}

/**
 * Sends a call to the legacy function and answers the client.
 *
 * Resolves with the Response to return from the handler (on Node this may be the adapter's
 * "already sent" marker when the transport wrote to the socket itself) once the response is
 * complete, and reports the outcome through `onOutcome`. Rejects only with a `GatewayError`
 * (502, 504, 413) when nothing was sent yet.
 */
export interface LegacyTransport {
  readonly kind: string
  forward(c: AppContext, call: LegacyCall, onOutcome: (o: LegacyOutcome) => void): Promise<Response>
  close?(): Promise<void>
}

export function serverTiming(headersMs: number, startedAt: number, now: number): string {
  return `upstream;dur=${headersMs.toFixed(1)}, gateway;dur=${Math.max(0, now - startedAt - headersMs).toFixed(1)}`
}
