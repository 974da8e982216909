import type { RecordedRequest } from '../fakes/recording-upstream.js'

/**
 * The request-framing matrix of the legacy proxy: every method, every way a client can frame
 * (or mis-frame) a body. Each body carries a complete second request, so an upstream that
 * receives the body without its framing parses a smuggled `SMUGGLED` request.
 */
export const METHODS = [
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'OPTIONS',
  'TRACE',
] as const
export const FRAMINGS = ['none', 'length', 'chunked', 'connection-length', 'te-and-length'] as const
export type Method = (typeof METHODS)[number]
export type Framing = (typeof FRAMINGS)[number]

export const SMUGGLED = 'GET /functions/v1/rec/SMUGGLED HTTP/1.1\r\nhost: legacy\r\n\r\n'

export function smuggleBody(tag: string): Buffer {
  return Buffer.from(`${SMUGGLED}x-tag: ${tag}`)
}

/** The bytes of one client request with `body` framed as `framing` says. */
export function requestBytes(
  method: string,
  path: string,
  framing: Framing,
  body: Buffer,
  extraHeaders = '',
): Buffer {
  const head = `${method} ${path} HTTP/1.1\r\nhost: gateway.test\r\n${extraHeaders}`
  const chunked = Buffer.concat([
    Buffer.from(`${body.length.toString(16)}\r\n`),
    body,
    Buffer.from('\r\n0\r\n\r\n'),
  ])
  switch (framing) {
    case 'none':
      return Buffer.from(`${head}\r\n`)
    case 'length':
      return Buffer.concat([Buffer.from(`${head}content-length: ${body.length}\r\n\r\n`), body])
    case 'chunked':
      return Buffer.concat([Buffer.from(`${head}transfer-encoding: chunked\r\n\r\n`), chunked])
    case 'connection-length':
      return Buffer.concat([
        Buffer.from(`${head}connection: content-length\r\ncontent-length: ${body.length}\r\n\r\n`),
        body,
      ])
    case 'te-and-length':
      return Buffer.concat([
        Buffer.from(
          `${head}transfer-encoding: chunked\r\ncontent-length: ${chunked.length}\r\n\r\n`,
        ),
        chunked,
      ])
  }
}

/** The client's framing split so an upload can be cut: the head and the first bytes, the rest. */
export function splitUpload(bytes: Buffer, bodyStart: number): [Buffer, Buffer] {
  return [bytes.subarray(0, bodyStart), bytes.subarray(bodyStart)]
}

export type Expectation =
  | { kind: 'refused'; status: 400 }
  | { kind: 'forwarded'; withBody: boolean }

/**
 * What the gateway must do with a method and a framing: a body on GET or HEAD, and a request
 * framed both ways, are refused (400); anything else is forwarded with its body, or without any
 * body framing when the client sent none.
 */
export function expectation(method: Method, framing: Framing): Expectation {
  if (framing === 'te-and-length') return { kind: 'refused', status: 400 }
  if (framing === 'none') return { kind: 'forwarded', withBody: false }
  if (method === 'GET' || method === 'HEAD' || method === 'TRACE')
    return { kind: 'refused', status: 400 }
  return { kind: 'forwarded', withBody: true }
}

/** Framing headers of a recorded upstream request. */
export function framingHeaders(req: RecordedRequest): [string, string][] {
  return req.headers.filter(([n]) => n === 'content-length' || n === 'transfer-encoding')
}

/**
 * Whether the upstream request carries `body` with a framing that matches it exactly; with no
 * body, no framing header at all. `emptyLength`: workerd's `fetch` frames a request without a
 * body as `Content-Length: 0` for methods other than GET and HEAD, which also matches its bytes.
 */
export function wellFramed(
  req: RecordedRequest,
  body: Buffer | null,
  { emptyLength = false } = {},
): boolean {
  const framing = framingHeaders(req)
  if (body === null)
    return (
      req.body.length === 0 &&
      (framing.length === 0 ||
        (emptyLength && framing.length === 1 && framing[0]?.join(':') === 'content-length:0'))
    )
  if (!req.body.equals(body)) return false
  if (req.framing === 'chunked') return framing.length === 1
  return req.framing === 'length' && framing.length === 1 && framing[0]?.[1] === String(body.length)
}
