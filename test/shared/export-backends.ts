import { once } from 'node:events'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { NativeHandler } from '../../src/types.js'

/**
 * Both sides of a read-only route (`settlement-export`) for shadow-traffic tests: a native
 * handler and a legacy function answering the same rows, each of which a test can make answer
 * differently, or hold until released (to show the client is not kept waiting).
 */
export interface ExportBackends {
  functionsUrl: string
  native: NativeHandler
  /** Legacy requests received. */
  legacyCalls: number
  /** Native requests received. */
  nativeCalls: number
  /** Make one side answer differently: `legacy-total` changes the total legacy reports. */
  diverge(mode: 'none' | 'legacy-total'): void
  /** Hold legacy answers until `release()`. */
  hold(): void
  release(): void
  close(): Promise<void>
}

const rows = (month: string) => ({
  month,
  rows: [
    { creator: 'c-1', gross: 120000, withheld: 3960 },
    { creator: 'c-2', gross: 50000, withheld: 1650 },
  ],
  total: 170000,
})

export async function startExportBackends(): Promise<ExportBackends> {
  let mode: 'none' | 'legacy-total' = 'none'
  let held: (() => void)[] | undefined
  const state = { legacyCalls: 0, nativeCalls: 0 }
  const server = http.createServer((req, res) => {
    state.legacyCalls++
    const month = new URL(req.url ?? '/', 'http://x').searchParams.get('month') ?? '2026-01'
    const answer = () => {
      const body = rows(month)
      if (mode === 'legacy-total') body.total += 1
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify(body))
    }
    if (held) held.push(answer)
    else answer()
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return {
    functionsUrl: `http://127.0.0.1:${port}/functions/v1`,
    native: async (c) => {
      state.nativeCalls++
      return c.json(rows(c.req.query('month') ?? '2026-01'))
    },
    get legacyCalls() {
      return state.legacyCalls
    },
    get nativeCalls() {
      return state.nativeCalls
    },
    diverge(next) {
      mode = next
    },
    hold() {
      held ??= []
    },
    release() {
      const waiting = held ?? []
      held = undefined
      for (const answer of waiting) answer()
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
