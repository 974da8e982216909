import { createHash } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Redis } from 'ioredis'

/**
 * A stand-in for Upstash's REST API over a real Redis server, written to the documented protocol
 * (https://upstash.com/docs/redis/features/restapi) and to what @upstash/redis sends:
 * - `POST /` with a JSON command array → `{ "result": … }`, or `{ "error": … }` with 400;
 * - `POST /pipeline` with an array of commands → an array of `{result}` / `{error}`, 200;
 * - `POST /multi-exec` → the same, run as one MULTI/EXEC transaction;
 * - `Authorization: Bearer <token>` required (401 otherwise);
 * - `Upstash-Encoding: base64` → every string in a result, also inside arrays, is base64
 *   encoded, except the plain `OK` status reply;
 * - Lua scripts may start with Upstash's `#!lua flags=allow-key-locking` shebang, which Redis
 *   OSS refuses: it is stripped before EVAL, and EVALSHA with the hash of the script as sent is
 *   mapped to the hash of what was loaded, as a client of Upstash would see it.
 */
export interface UpstashRestFake {
  url: string
  token: string
  /** Requests seen, by path, so tests can check the client really went through here. */
  requests: { path: string; base64: boolean }[]
  close(): Promise<void>
}

type Reply = { result: unknown } | { error: string }

export async function startUpstashRest({
  redisUrl = 'redis://127.0.0.1:6379',
  token = 'fake-upstash-token',
}: {
  redisUrl?: string
  token?: string
} = {}): Promise<UpstashRestFake> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 })
  const requests: UpstashRestFake['requests'] = []
  const scripts = new Map<string, string>()

  /** Upstash-only script flags removed, and script hashes translated to what Redis loaded. */
  function translate(name: string, args: string[]): string[] {
    const command = name.toLowerCase()
    if (command === 'eval' || (command === 'script' && args[0]?.toLowerCase() === 'load')) {
      const at = command === 'eval' ? 0 : 1
      const script = args[at] as string
      const text = script.replace(/^#!lua[^\n]*\n/, '')
      scripts.set(sha1(script), sha1(text))
      return args.map((arg, i) => (i === at ? text : arg))
    }
    if (command === 'evalsha') {
      const [sha = '', ...rest] = args
      return [scripts.get(sha.toLowerCase()) ?? sha, ...rest]
    }
    return args
  }

  async function run(command: unknown): Promise<Reply> {
    if (!Array.isArray(command) || command.length === 0) return { error: 'ERR invalid command' }
    const [name = '', ...args] = command.map((part) =>
      typeof part === 'string' ? part : JSON.stringify(part),
    )
    try {
      const result = await redis.call(name, ...translate(name, args))
      // SCRIPT LOAD answers the hash of the script as the client sent it.
      const loadedAs = name.toLowerCase() === 'script' ? sha1(args[1] ?? '') : undefined
      return { result: loadedAs ?? onTheWire(result) }
    } catch (error) {
      return { error: (error as Error).message }
    }
  }

  async function multiExec(commands: unknown[]): Promise<Reply[]> {
    const tx = redis.multi()
    for (const command of commands as string[][]) {
      const [name = '', ...args] = command.map(String)
      tx.call(name, ...translate(name, args))
    }
    const results = (await tx.exec()) ?? []
    return results.map(([error, result]) =>
      error ? { error: error.message } : { result: onTheWire(result) },
    )
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(body))
    }
    if (req.headers.authorization !== `Bearer ${token}`) return send(401, { error: 'Unauthorized' })
    if (req.method !== 'POST') return send(405, { error: 'Method not allowed' })
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    let body: unknown
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'))
    } catch {
      return send(400, { error: 'ERR failed to parse the request body' })
    }
    const base64 = String(req.headers['upstash-encoding'] ?? '').toLowerCase() === 'base64'
    const path = new URL(req.url ?? '/', 'http://fake').pathname
    requests.push({ path, base64 })
    const encode = (reply: Reply): Reply =>
      base64 && 'result' in reply ? { result: encodeResult(reply.result, true) } : reply
    if (path === '/pipeline' || path === '/multi-exec') {
      if (!Array.isArray(body)) return send(400, { error: 'ERR the body must be an array' })
      const replies = path === '/pipeline' ? await pipeline(body) : await multiExec(body)
      return send(200, replies.map(encode))
    }
    if (path !== '/') return send(404, { error: 'Not found' })
    const reply = await run(body)
    return 'error' in reply ? send(400, reply) : send(200, encode(reply))
  }

  async function pipeline(commands: unknown[]): Promise<Reply[]> {
    const replies: Reply[] = []
    for (const command of commands) replies.push(await run(command))
    return replies
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: Error) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: error.message }))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    requests,
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await redis.quit().catch(() => redis.disconnect())
    },
  }
}

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex')

/**
 * ioredis turns some replies into objects even through `call` (HGETALL → `{field: value}`);
 * Redis, and so Upstash REST, answers a flat `[field, value, ...]` array.
 */
function onTheWire(result: unknown): unknown {
  if (
    result === null ||
    typeof result !== 'object' ||
    Array.isArray(result) ||
    Buffer.isBuffer(result)
  ) {
    return result
  }
  return Object.entries(result as Record<string, unknown>).flat()
}

function encodeResult(value: unknown, top: boolean): unknown {
  if (typeof value === 'string') {
    return top && value === 'OK' ? value : Buffer.from(value, 'utf8').toString('base64')
  }
  if (Array.isArray(value)) return value.map((item) => encodeResult(item, false))
  return value
}
