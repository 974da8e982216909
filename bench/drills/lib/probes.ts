import http from 'node:http'
import { connect, type Socket } from 'node:net'

/** Raw HTTP probes: half-sent requests, new connections, streaming uploads and downloads. */

/**
 * A request whose head is sent except its final CRLF: the server has begun parsing it, so the
 * connection counts as active (a draining server keeps it open) until `complete()` sends the
 * rest and the answer's status line arrives.
 */
export async function halfSentRequest(
  port: number,
  path: string,
): Promise<{ complete(): Promise<number | string> }> {
  const socket = connect(port, '127.0.0.1')
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nx-request-id: half-sent-${port}\r\n`)
  let data = ''
  const answered = new Promise<number | string>((resolve) => {
    const timer = setTimeout(() => resolve('no answer'), 5_000)
    socket.on('data', (d) => {
      data += d.toString('latin1')
      const m = /^HTTP\/1\.1 (\d{3})/.exec(data)
      if (m) {
        clearTimeout(timer)
        resolve(Number(m[1]))
      }
    })
    socket.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message))
    socket.on('close', () => resolve('closed'))
  })
  return {
    async complete() {
      socket.write('\r\n')
      const result = await answered
      socket.destroy()
      return result
    },
  }
}

/**
 * A new connection with one request: `refused` (nothing listens), an HTTP status (answered),
 * or what else happened (reset after accepting, no answer).
 */
export function newConnection(port: number, path: string): Promise<'refused' | number | string> {
  return new Promise((resolve) => {
    const socket: Socket = connect(port, '127.0.0.1')
    let data = ''
    const timer = setTimeout(() => {
      socket.destroy()
      resolve('no answer')
    }, 5_000)
    const done = (v: 'refused' | number | string) => {
      clearTimeout(timer)
      socket.destroy()
      resolve(v)
    }
    socket.once('connect', () =>
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`),
    )
    socket.on('data', (d) => {
      data += d.toString('latin1')
      const m = /^HTTP\/1\.1 (\d{3})/.exec(data)
      if (m) done(Number(m[1]))
    })
    socket.once('error', (e: NodeJS.ErrnoException) =>
      done(e.code === 'ECONNREFUSED' ? 'refused' : (e.code ?? e.message)),
    )
    socket.once('close', () => done(data ? 'truncated' : 'closed without answer'))
  })
}

export interface StreamResult {
  status: number
  bytes: number
  expected: number
  error?: string
}

/** POST `chunks` × `size` bytes, one chunk every `gapMs`, and read the echoed body back. */
export function streamingUpload(
  url: string,
  { chunks, size, gapMs }: { chunks: number; size: number; gapMs: number },
): Promise<StreamResult> {
  const expected = chunks * size
  return new Promise((resolve) => {
    const req = http.request(`${url}/functions/v1/binary`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', 'x-request-id': 'drill-upload' },
      agent: false,
    })
    let bytes = 0
    req.on('response', (res) => {
      res.on('data', (d: Buffer) => {
        bytes += d.length
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, expected }))
      res.on('error', (e) =>
        resolve({ status: res.statusCode ?? 0, bytes, expected, error: e.message }),
      )
      res.on('close', () => {
        if (!res.complete) resolve({ status: res.statusCode ?? 0, bytes, expected, error: 'cut' })
      })
    })
    req.on('error', (e) => resolve({ status: 0, bytes, expected, error: e.message }))
    let sent = 0
    const tick = () => {
      req.write(Buffer.alloc(size, sent % 251))
      sent++
      if (sent < chunks) setTimeout(tick, gapMs)
      else req.end()
    }
    tick()
  })
}

/** GET the legacy `stream` function (`chunks` lines, one every `gapMs`) through the gateway. */
export function streamingDownload(
  url: string,
  { chunks, gapMs, onFirstChunk }: { chunks: number; gapMs: number; onFirstChunk?: () => void },
): Promise<StreamResult> {
  return new Promise((resolve) => {
    const req = http.get(
      `${url}/functions/v1/stream?chunks=${chunks}&gap=${gapMs}`,
      { agent: false, headers: { 'x-request-id': 'drill-download' } },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (d: string) => {
          if (!text) onFirstChunk?.()
          text += d
        })
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            bytes: text.split('\n').filter(Boolean).length,
            expected: chunks,
          }),
        )
        res.on('error', (e) =>
          resolve({ status: res.statusCode ?? 0, bytes: 0, expected: chunks, error: e.message }),
        )
        res.on('close', () => {
          if (!res.complete)
            resolve({ status: res.statusCode ?? 0, bytes: 0, expected: chunks, error: 'cut' })
        })
      },
    )
    req.on('error', (e) => resolve({ status: 0, bytes: 0, expected: chunks, error: e.message }))
  })
}
