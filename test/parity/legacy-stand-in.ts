/**
 * The legacy Edge Functions for parity runs: a real HTTP server under `/functions/v1/<name>`
 * that serves each route's contract from `test/parity/<route>/legacy.ts`. Adding a route's
 * legacy behaviour is adding that one file.
 */
import { existsSync, readdirSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { serve } from '@hono/node-server'
import type { LegacyContract, LegacyEnv } from './legacy-kit.js'

const DIR = resolve(import.meta.dirname)

/** Every route with a `legacy.ts` contract, by route id. */
export async function loadContracts(dir = DIR): Promise<Record<string, LegacyContract>> {
  const contracts: Record<string, LegacyContract> = {}
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = join(dir, entry.name, 'legacy.ts')
    if (!entry.isDirectory() || !existsSync(file)) continue
    const module = (await import(pathToFileURL(file).href)) as { contract?: LegacyContract }
    if (typeof module.contract !== 'function') {
      throw new Error(`${file} must export a \`contract\` function`)
    }
    contracts[entry.name] = module.contract
  }
  return contracts
}

export interface ParityLegacy {
  functionsUrl: string
  /** Route ids with a contract. */
  routes: string[]
  /** Requests per route id, to show a run really reached legacy. */
  calls: Map<string, number>
  close(): Promise<void>
}

export async function startParityLegacy(env: LegacyEnv): Promise<ParityLegacy> {
  const contracts = await loadContracts()
  const calls = new Map<string, number>()
  const server = serve({
    port: 0,
    hostname: '127.0.0.1',
    overrideGlobalObjects: false,
    fetch: async (req) => {
      const { pathname } = new URL(req.url)
      const name = /^\/functions\/v1\/([a-z0-9_-]+)/.exec(pathname)?.[1] ?? ''
      const contract = contracts[name]
      if (!contract) {
        return new Response(JSON.stringify({ error: `function ${name} not found` }), {
          status: 404,
          headers: { 'content-type': 'application/json' },
        })
      }
      calls.set(name, (calls.get(name) ?? 0) + 1)
      try {
        return await contract(req, env)
      } catch (error) {
        // The Edge runtime's own answer to a function that threw.
        console.error(`legacy stand-in ${name} threw`, error)
        return new Response(JSON.stringify({ error: 'function failed' }), { status: 500 })
      }
    },
  })
  await new Promise<void>((r) => server.once('listening', () => r()))
  const { port } = server.address() as AddressInfo
  return {
    functionsUrl: `http://127.0.0.1:${port}/functions/v1`,
    routes: Object.keys(contracts).sort(),
    calls,
    close: () =>
      new Promise((r) => {
        if ('closeAllConnections' in server) server.closeAllConnections()
        server.close(() => r())
      }),
  }
}
