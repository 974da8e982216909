import net, { type Socket } from 'node:net'

/** A response read off a raw socket. */
export interface RawResponse {
  status: number
  headers: Record<string, string>
  body: Buffer
}

/** A client connection over `node:net`: bytes out exactly as written, responses parsed here. */
export interface RawClient {
  socket: Socket
  write(data: string | Buffer): void
  /** The next response on this connection (for HEAD pass `head: true`: no body follows). */
  response(options?: { head?: boolean; timeoutMs?: number }): Promise<RawResponse>
  /** Resolves when the peer closed the connection. */
  closed: Promise<void>
  destroy(): void
}

export async function rawClient(base: string): Promise<RawClient> {
  const url = new URL(base)
  const socket = net.connect(Number(url.port), url.hostname)
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  socket.on('error', () => {})
  let buffer = Buffer.alloc(0)
  let ended = false
  let wake: (() => void) | undefined
  socket.on('data', (d: Buffer) => {
    buffer = Buffer.concat([buffer, d])
    wake?.()
  })
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      ended = true
      wake?.()
      resolve()
    }),
  )
  const more = () => new Promise<void>((resolve) => (wake = resolve))

  async function response({ head = false, timeoutMs = 10_000 } = {}): Promise<RawResponse> {
    const timer = setTimeout(() => {
      ended = true
      wake?.()
    }, timeoutMs)
    try {
      let end = buffer.indexOf('\r\n\r\n')
      while (end === -1) {
        if (ended) throw new Error(`no response head (got ${JSON.stringify(buffer.toString())})`)
        await more()
        end = buffer.indexOf('\r\n\r\n')
      }
      const [line = '', ...fields] = buffer.subarray(0, end).toString('latin1').split('\r\n')
      buffer = buffer.subarray(end + 4)
      const status = Number(line.split(' ')[1])
      const headers: Record<string, string> = {}
      for (const f of fields) {
        const i = f.indexOf(':')
        headers[f.slice(0, i).toLowerCase()] = f.slice(i + 1).trim()
      }
      if (head || status === 204 || status === 304)
        return { status, headers, body: Buffer.alloc(0) }
      if (headers['transfer-encoding'] === 'chunked') {
        const chunks: Buffer[] = []
        for (;;) {
          let nl = buffer.indexOf('\r\n')
          while (nl === -1) {
            if (ended) throw new Error('chunked response cut short')
            await more()
            nl = buffer.indexOf('\r\n')
          }
          const size = Number.parseInt(buffer.subarray(0, nl).toString(), 16)
          while (buffer.length < nl + 2 + size + 2) {
            if (ended) throw new Error('chunked response cut short')
            await more()
          }
          chunks.push(buffer.subarray(nl + 2, nl + 2 + size))
          buffer = buffer.subarray(nl + 2 + size + 2)
          if (size === 0) return { status, headers, body: Buffer.concat(chunks) }
        }
      }
      const length = Number(headers['content-length'] ?? Number.NaN)
      if (Number.isNaN(length)) {
        while (!ended) await more()
        const body = buffer
        buffer = Buffer.alloc(0)
        return { status, headers, body }
      }
      while (buffer.length < length) {
        if (ended) throw new Error('response body cut short')
        await more()
      }
      const body = buffer.subarray(0, length)
      buffer = buffer.subarray(length)
      return { status, headers, body }
    } finally {
      clearTimeout(timer)
    }
  }

  return {
    socket,
    write: (data) => socket.write(data),
    response,
    closed,
    destroy: () => socket.destroy(),
  }
}

/** Poll `probe` until it returns true or `ms` pass; returns its last answer. */
export async function eventually(probe: () => boolean, ms = 3_000): Promise<boolean> {
  const until = Date.now() + ms
  while (Date.now() < until) {
    if (probe()) return true
    await new Promise((r) => setTimeout(r, 25))
  }
  return probe()
}
