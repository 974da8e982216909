import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A stand-in for Anthropic's Messages API (`POST /v1/messages`) on loopback, written to the
 * documented behaviour: authenticated by API key, versioned by `anthropic-version`, errors as
 * `{type: 'error', error: {type, message}}`, 529 for `overloaded_error`.
 */

/** What the fake received, for assertions on the prompt. */
export interface ReceivedRequest {
  headers: Record<string, string | string[] | undefined>
  body: {
    model: string
    system?: string | Array<{ type: 'text'; text: string }>
    messages: Array<{ role: string; content: string | Array<{ type: string; text?: string }> }>
    max_tokens: number
    [key: string]: unknown
  }
}

export type FakeMode =
  /** 200 with one text block; `text` may compute the answer from the request (an obeying model). */
  | { kind: 'normal'; text: string | ((req: ReceivedRequest) => string); usage?: Usage }
  | { kind: 'rate-limited'; retryAfterSeconds?: number }
  | { kind: 'overloaded' }
  | { kind: 'server-error' }
  /** Answers only after `delayMs` (beyond the client's timeout). */
  | { kind: 'slow'; delayMs: number; text?: string }
  /** 200 with output that is not what was asked: non-JSON, wrong shape, injected links… */
  | { kind: 'malformed'; text: string }

interface Usage {
  input_tokens: number
  output_tokens: number
}

export interface FakeAnthropic {
  url: string
  apiKey: string
  requests: ReceivedRequest[]
  /** Mode for every model without its own. */
  setMode(mode: FakeMode): void
  /** Mode for one model id (e.g. primary down, fallback up). */
  setModeFor(model: string, mode: FakeMode): void
  close(): Promise<void>
}

const DEFAULT_USAGE: Usage = { input_tokens: 120, output_tokens: 40 }

function sendJson(res: ServerResponse, status: number, body: unknown, headers = {}) {
  res.writeHead(status, {
    'content-type': 'application/json',
    'request-id': 'req_fake',
    ...headers,
  })
  res.end(JSON.stringify(body))
}

const apiError = (type: string, message: string) => ({ type: 'error', error: { type, message } })

function message(model: string, text: string, usage: Usage) {
  return {
    id: `msg_fake_${Math.random().toString(36).slice(2, 10)}`,
    type: 'message',
    role: 'assistant',
    model,
    content: [{ type: 'text', text }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: { ...usage, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

/** The key sent by the SDK: `x-api-key` (the API's documented header) or a bearer token. */
function presentedKey(req: IncomingMessage): string | undefined {
  const header = req.headers['x-api-key']
  if (typeof header === 'string') return header
  const auth = req.headers.authorization
  return auth?.startsWith('Bearer ') ? auth.slice(7) : undefined
}

export async function startFakeAnthropic({
  apiKey = 'sk-ant-fake-key',
  mode = { kind: 'normal', text: '{"suggestions":["좋아요!"]}' } as FakeMode,
  port = 0,
} = {}): Promise<FakeAnthropic> {
  const requests: ReceivedRequest[] = []
  let defaultMode = mode
  const modes = new Map<string, FakeMode>()
  const timers = new Set<NodeJS.Timeout>()

  const server = createServer(async (req, res) => {
    if (req.method !== 'POST' || req.url?.split('?')[0] !== '/v1/messages') {
      return sendJson(res, 404, apiError('not_found_error', 'Not found'))
    }
    if (presentedKey(req) !== apiKey) {
      return sendJson(res, 401, apiError('authentication_error', 'invalid x-api-key'))
    }
    if (!req.headers['anthropic-version']) {
      return sendJson(
        res,
        400,
        apiError('invalid_request_error', 'anthropic-version header is required'),
      )
    }
    let body: ReceivedRequest['body']
    try {
      body = JSON.parse(await readBody(req))
    } catch {
      return sendJson(res, 400, apiError('invalid_request_error', 'body is not JSON'))
    }
    if (typeof body?.model !== 'string' || !Array.isArray(body.messages) || !body.max_tokens) {
      return sendJson(
        res,
        400,
        apiError('invalid_request_error', 'model, messages and max_tokens are required'),
      )
    }
    const received: ReceivedRequest = { headers: { ...req.headers }, body }
    requests.push(received)

    const m = modes.get(body.model) ?? defaultMode
    switch (m.kind) {
      case 'normal': {
        const text = typeof m.text === 'function' ? m.text(received) : m.text
        return sendJson(res, 200, message(body.model, text, m.usage ?? DEFAULT_USAGE))
      }
      case 'malformed':
        return sendJson(res, 200, message(body.model, m.text, DEFAULT_USAGE))
      case 'rate-limited':
        return sendJson(
          res,
          429,
          apiError('rate_limit_error', 'Number of requests has exceeded your rate limit'),
          {
            'retry-after': String(m.retryAfterSeconds ?? 30),
          },
        )
      case 'overloaded':
        return sendJson(res, 529, apiError('overloaded_error', 'Overloaded'))
      case 'server-error':
        return sendJson(res, 500, apiError('api_error', 'Internal server error'))
      case 'slow': {
        const timer = setTimeout(() => {
          timers.delete(timer)
          if (!res.destroyed) sendJson(res, 200, message(body.model, m.text ?? '{}', DEFAULT_USAGE))
        }, m.delayMs)
        timers.add(timer)
        res.on('close', () => {
          clearTimeout(timer)
          timers.delete(timer)
        })
        return
      }
    }
  })
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  const address = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${address.port}`,
    apiKey,
    requests,
    setMode: (next) => {
      defaultMode = next
      modes.clear()
    },
    setModeFor: (model, next) => {
      modes.set(model, next)
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t)
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** The system text of a received request, whichever form the client sent it in. */
export function systemText(req: ReceivedRequest): string {
  const s = req.body.system
  if (s === undefined) return ''
  return typeof s === 'string' ? s : s.map((b) => b.text).join('\n')
}

/** All user-turn text of a received request. */
export function userText(req: ReceivedRequest): string {
  return req.body.messages
    .filter((m) => m.role === 'user')
    .map((m) =>
      typeof m.content === 'string' ? m.content : m.content.map((b) => b.text ?? '').join(''),
    )
    .join('\n')
}
