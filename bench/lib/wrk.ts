import { existsSync } from 'node:fs'
import { CPU, run } from './proc.js'

export const WRK = '/usr/bin/wrk'
export const hasWrk = existsSync(WRK)

export interface WrkResult {
  rps: number
  /** Non-2xx/3xx responses plus socket errors: any is a failed run. */
  errors: number
  requests: number
}

/**
 * Closed-loop throughput with wrk (one thread, `connections` keep-alive connections), pinned
 * to the load generator's CPU. `script` is a wrk Lua script (method, body, headers).
 */
export async function wrk(
  url: string,
  connections: number,
  seconds: number,
  script?: string,
  scriptArgs: string[] = [],
): Promise<WrkResult> {
  if (!hasWrk) throw new Error(`${WRK} is missing: apt-get install wrk`)
  const args = [
    '-t1',
    `-c${connections}`,
    `-d${seconds}s`,
    '--timeout',
    '5s',
    ...(script ? ['-s', script] : []),
    url,
    ...(scriptArgs.length ? ['--', ...scriptArgs] : []),
  ]
  const out = await run(WRK, args, { cpu: CPU?.load, timeoutMs: (seconds + 20) * 1000 })
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? Number.NaN)
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0)
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0)
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)
  const socketErrors = socket ? socket.slice(1).reduce((a, b) => a + Number(b), 0) : 0
  return { rps, errors: non2xx + socketErrors, requests }
}
