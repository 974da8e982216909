import { connect, type Socket } from 'node:net'
import { quantile } from './stats.js'

/**
 * An open-loop load generator (wrk2's idea): requests leave at a fixed rate whatever the
 * latency, over a pool of keep-alive connections, and each latency is timed from the moment
 * the request was due, so a stall is not hidden by the generator waiting for it. Responses
 * are parsed just enough (Content-Length or a chunked terminator) to reuse the connection.
 *
 * It runs in the load generator's own process: `node --import tsx bench/lib/fixed-rate.ts`
 * with a JSON argument prints a JSON result.
 */

export interface FixedRateOptions {
  port: number
  path: string
  rate: number
  seconds: number
  connections: number
}

export interface FixedRateResult {
  sent: number
  completed: number
  errors: number
  p50: number
  p99: number
  p999: number
}

const CRLF2 = Buffer.from('\r\n\r\n')
const CHUNK_END = Buffer.from('\r\n0\r\n\r\n')

interface Conn {
  socket: Socket
  busy: boolean
  dueAt: bigint
  buf: Buffer
}

export async function fixedRate(opts: FixedRateOptions): Promise<FixedRateResult> {
  // One of 65,536 client addresses per request, as in bench/lib/client-ips.lua.
  const head = `GET ${opts.path} HTTP/1.1\r\nHost: 127.0.0.1:${opts.port}\r\nAccept: application/json\r\n`
  let ip = 0
  const request = () => {
    ip = (ip + 1) % 65536
    return Buffer.from(`${head}x-forwarded-for: 10.0.${ip >> 8}.${ip & 255}\r\n\r\n`, 'latin1')
  }
  const total = Math.round(opts.rate * opts.seconds)
  const latencies = new Float64Array(total)
  let completed = 0
  let errors = 0
  let sent = 0
  const idle: Conn[] = []
  const queue: bigint[] = []

  const finish = (conn: Conn) => {
    latencies[completed++] = Number(process.hrtime.bigint() - conn.dueAt) / 1e6
    conn.busy = false
    conn.buf = Buffer.alloc(0)
    const next = queue.shift()
    if (next !== undefined) send(conn, next)
    else idle.push(conn)
  }

  const onData = (conn: Conn, data: Buffer) => {
    conn.buf = conn.buf.length ? Buffer.concat([conn.buf, data]) : data
    const end = conn.buf.indexOf(CRLF2)
    if (end === -1) return
    const head = conn.buf.subarray(0, end).toString('latin1')
    if (!head.startsWith('HTTP/1.1 2')) errors++
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head)
    if (length) {
      if (conn.buf.length >= end + 4 + Number(length[1])) finish(conn)
    } else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
      if (conn.buf.indexOf(CHUNK_END, end) !== -1) finish(conn)
    } else {
      finish(conn)
    }
  }

  const send = (conn: Conn, dueAt: bigint) => {
    conn.busy = true
    conn.dueAt = dueAt
    conn.socket.write(request())
  }

  const conns = await Promise.all(
    Array.from({ length: opts.connections }, () => {
      return new Promise<Conn>((resolve, reject) => {
        const socket = connect(opts.port, '127.0.0.1', () => resolve(conn))
        const conn: Conn = { socket, busy: false, dueAt: 0n, buf: Buffer.alloc(0) }
        socket.setNoDelay(true)
        socket.on('data', (d) => onData(conn, d))
        socket.once('error', (error) => {
          errors++
          reject(error)
        })
      })
    }),
  )
  idle.push(...conns)

  const interval = BigInt(Math.round(1e9 / opts.rate))
  const start = process.hrtime.bigint()
  await new Promise<void>((resolve) => {
    // A 1 ms tick sends whatever became due; latency counts from the due time, not the tick.
    const timer = setInterval(() => {
      const now = process.hrtime.bigint()
      while (sent < total && start + BigInt(sent) * interval <= now) {
        const due = start + BigInt(sent) * interval
        sent++
        const conn = idle.pop()
        if (conn) send(conn, due)
        else queue.push(due)
      }
      if (sent >= total) {
        clearInterval(timer)
        resolve()
      }
    }, 1)
  })
  // Let the last responses arrive (bounded).
  const deadline = Date.now() + 5_000
  while (completed < sent && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
  for (const c of conns) c.socket.destroy()
  const sorted = latencies.subarray(0, completed).sort()
  return {
    sent,
    completed,
    errors: errors + (sent - completed),
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    p999: quantile(sorted, 0.999),
  }
}

if (process.argv[1]?.endsWith('fixed-rate.ts') && process.argv[2]) {
  fixedRate(JSON.parse(process.argv[2]) as FixedRateOptions).then((result) => {
    process.stdout.write(`${JSON.stringify(result)}\n`)
  })
}
