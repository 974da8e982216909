import net, { type AddressInfo, type Socket } from 'node:net'

/**
 * A legacy upstream written over raw sockets: it parses HTTP/1.1 requests itself, strictly,
 * connection by connection, so the tests see the framing the gateway actually put on the wire
 * (a `node:http` server would normalise it away). What the function does is chosen by its
 * name, `/functions/v1/<mode>/...`:
 *
 * - `rec`: answers after the whole body arrived.
 * - `early`: answers as soon as the head arrived, then keeps reading the body by its framing.
 * - `hang`: never answers.
 *
 * Any byte sequence that is not a well-framed request (both `Transfer-Encoding` and
 * `Content-Length`, a bad chunk, a bad request line) is recorded as a protocol error and the
 * connection is closed, as a careful server would.
 */
export interface RecordedRequest {
  connection: number
  method: string
  target: string
  headers: [string, string][]
  body: Buffer
  framing: 'none' | 'length' | 'chunked'
}

export interface RecordingUpstream {
  functionsUrl: string
  requests: RecordedRequest[]
  errors: { connection: number; reason: string; data: string }[]
  /** Connections ever accepted. */
  connections(): number
  /** Connections still open. */
  open(): number
  /** Open connections that are in the middle of a request (head or body partly received). */
  midRequest(): number
  close(): Promise<void>
}

type Mode = 'rec' | 'early' | 'hang'

const CRLF = Buffer.from('\r\n')
const HEAD_END = Buffer.from('\r\n\r\n')
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

class ConnectionParser {
  private buffer = Buffer.alloc(0)
  private state:
    | { at: 'head' }
    | { at: 'length'; left: number; req: RecordedRequest; chunks: Buffer[] }
    | { at: 'chunk-size'; req: RecordedRequest; chunks: Buffer[] }
    | { at: 'chunk-data'; left: number; req: RecordedRequest; chunks: Buffer[] }
    | { at: 'trailers'; req: RecordedRequest; chunks: Buffer[] }
    | { at: 'dead' } = { at: 'head' }

  constructor(
    private readonly id: number,
    private readonly socket: Socket,
    private readonly upstream: { requests: RecordedRequest[]; errors: RecordingUpstream['errors'] },
  ) {}

  get idle(): boolean {
    return this.state.at === 'head' && this.buffer.length === 0
  }

  feed(data: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, data])
    while (this.step()) {}
  }

  private error(reason: string): false {
    this.upstream.errors.push({
      connection: this.id,
      reason,
      data: this.buffer.subarray(0, 200).toString('latin1'),
    })
    this.state = { at: 'dead' }
    this.socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n')
    return false
  }

  private step(): boolean {
    const s = this.state
    if (s.at === 'dead') return false
    if (s.at === 'head') {
      const end = this.buffer.indexOf(HEAD_END)
      if (end === -1) return this.buffer.length > 16_384 ? this.error('head too long') : false
      const head = this.buffer.subarray(0, end).toString('latin1')
      this.buffer = this.buffer.subarray(end + 4)
      const [line = '', ...fields] = head.split('\r\n')
      const m = /^([A-Z]+) (\S+) HTTP\/1\.1$/.exec(line)
      if (!m) return this.error(`bad request line: ${JSON.stringify(line.slice(0, 80))}`)
      const headers: [string, string][] = []
      for (const field of fields) {
        const colon = field.indexOf(':')
        const name = field.slice(0, colon)
        if (colon <= 0 || !TOKEN.test(name)) return this.error(`bad header line: ${field}`)
        headers.push([name.toLowerCase(), field.slice(colon + 1).trim()])
      }
      const te = headers.filter(([n]) => n === 'transfer-encoding')
      const cl = headers.filter(([n]) => n === 'content-length')
      if (te.length && cl.length) return this.error('both transfer-encoding and content-length')
      if (te.length > 1 || (te.length === 1 && te[0]?.[1].toLowerCase() !== 'chunked'))
        return this.error('transfer-encoding other than chunked')
      if (cl.length > 1 || (cl.length === 1 && !/^\d+$/.test(cl[0]?.[1] ?? '')))
        return this.error('bad content-length')
      const req: RecordedRequest = {
        connection: this.id,
        method: m[1] as string,
        target: m[2] as string,
        headers,
        body: Buffer.alloc(0),
        framing: te.length ? 'chunked' : cl.length ? 'length' : 'none',
      }
      const mode = modeOf(req.target)
      if (mode === 'early') this.answer(req)
      if (te.length) this.state = { at: 'chunk-size', req, chunks: [] }
      else if (cl.length && Number(cl[0]?.[1]) > 0)
        this.state = { at: 'length', left: Number(cl[0]?.[1]), req, chunks: [] }
      else this.complete(req, [])
      return true
    }
    if (s.at === 'length') {
      if (this.buffer.length === 0) return false
      const take = this.buffer.subarray(0, s.left)
      this.buffer = this.buffer.subarray(take.length)
      s.chunks.push(take)
      s.left -= take.length
      if (s.left === 0) this.complete(s.req, s.chunks)
      return true
    }
    if (s.at === 'chunk-size') {
      const end = this.buffer.indexOf(CRLF)
      if (end === -1) return this.buffer.length > 1024 ? this.error('chunk size too long') : false
      const line = this.buffer.subarray(0, end).toString('latin1')
      this.buffer = this.buffer.subarray(end + 2)
      if (!/^[0-9a-fA-F]+(;.*)?$/.test(line)) return this.error(`bad chunk size ${line}`)
      const size = Number.parseInt(line, 16)
      this.state =
        size === 0
          ? { at: 'trailers', req: s.req, chunks: s.chunks }
          : { at: 'chunk-data', left: size, req: s.req, chunks: s.chunks }
      return true
    }
    if (s.at === 'chunk-data') {
      if (s.left > 0) {
        if (this.buffer.length === 0) return false
        const take = this.buffer.subarray(0, s.left)
        this.buffer = this.buffer.subarray(take.length)
        s.chunks.push(take)
        s.left -= take.length
        return true
      }
      if (this.buffer.length < 2) return false
      if (!this.buffer.subarray(0, 2).equals(CRLF)) return this.error('chunk without CRLF')
      this.buffer = this.buffer.subarray(2)
      this.state = { at: 'chunk-size', req: s.req, chunks: s.chunks }
      return true
    }
    // trailers: lines until an empty one
    const end = this.buffer.indexOf(CRLF)
    if (end === -1) return false
    const line = this.buffer.subarray(0, end)
    this.buffer = this.buffer.subarray(end + 2)
    if (line.length === 0) this.complete(s.req, s.chunks)
    return true
  }

  private complete(req: RecordedRequest, chunks: Buffer[]): void {
    req.body = Buffer.concat(chunks)
    this.upstream.requests.push(req)
    this.state = { at: 'head' }
    if (modeOf(req.target) === 'rec') this.answer(req)
  }

  private answer(req: RecordedRequest): void {
    const body = JSON.stringify({ target: req.target, connection: this.id })
    const head = `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n`
    this.socket.write(req.method === 'HEAD' ? head : head + body)
  }
}

function modeOf(target: string): Mode | undefined {
  const m = /^\/functions\/v1\/(rec|early|hang)(?:[/?]|$)/.exec(target)
  return m?.[1] as Mode | undefined
}

export async function startRecordingUpstream(): Promise<RecordingUpstream> {
  const requests: RecordedRequest[] = []
  const errors: RecordingUpstream['errors'] = []
  const parsers = new Map<Socket, ConnectionParser>()
  let count = 0
  const server = net.createServer((socket) => {
    const parser = new ConnectionParser(++count, socket, { requests, errors })
    parsers.set(socket, parser)
    socket.on('data', (data) => parser.feed(data))
    socket.on('error', () => {})
    socket.on('close', () => parsers.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    functionsUrl: `http://127.0.0.1:${port}/functions/v1`,
    requests,
    errors,
    connections: () => count,
    open: () => parsers.size,
    midRequest: () => [...parsers.values()].filter((p) => !p.idle).length,
    close: () =>
      new Promise((resolve) => {
        for (const socket of parsers.keys()) socket.destroy()
        server.close(() => resolve())
      }),
  }
}
