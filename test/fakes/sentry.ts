import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { gunzipSync } from 'node:zlib'

/**
 * A Sentry ingest stand-in on loopback. SDKs send envelopes
 * (develop.sentry.dev/sdk/data-model/envelopes/) to `POST /api/<project>/envelope/`: newline
 * separated JSON, an envelope header, then per item an item header and its payload, gzipped
 * when large. The fake keeps every item with its raw text, so a test can look for anything
 * that should not have left.
 */

export interface EnvelopeItem {
  type: string
  payload: Record<string, unknown>
}

export interface SentryFake {
  /** A DSN pointing here: `http://<key>@127.0.0.1:<port>/1`. */
  readonly dsn: string
  readonly key: string
  /** Every item received, in order. */
  readonly items: EnvelopeItem[]
  /** The raw text of every envelope (after gunzip). */
  readonly raw: string[]
  /** Items of type `event` (errors). */
  events(): Record<string, unknown>[]
  /** Resolves once `count` events arrived (bounded by `timeoutMs`). */
  waitForEvents(count: number, timeoutMs?: number): Promise<Record<string, unknown>[]>
  close(): Promise<void>
}

function parseEnvelope(text: string): EnvelopeItem[] {
  const lines = text.split('\n')
  const items: EnvelopeItem[] = []
  // Line 0 is the envelope header; then header/payload pairs.
  for (let i = 1; i + 1 < lines.length; i += 2) {
    const header = JSON.parse(lines[i] as string) as { type: string }
    items.push({ type: header.type, payload: JSON.parse(lines[i + 1] as string) })
  }
  return items
}

export async function startSentryFake(): Promise<SentryFake> {
  const key = 'fakepublickey0123456789abcdef'
  const items: EnvelopeItem[] = []
  const raw: string[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      if (req.method !== 'POST' || !/^\/api\/\d+\/envelope\/?/.test(req.url ?? '')) {
        res.writeHead(404).end()
        return
      }
      let body = Buffer.concat(chunks)
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body)
      const text = body.toString('utf8')
      raw.push(text)
      items.push(...parseEnvelope(text))
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const events = () => items.filter((item) => item.type === 'event').map((item) => item.payload)
  return {
    dsn: `http://${key}@127.0.0.1:${port}/1`,
    key,
    items,
    raw,
    events,
    async waitForEvents(count, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs
      while (events().length < count && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      return events()
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
