/**
 * Parity between native and legacy for one route (or all with cases):
 *   npm run parity -- <route> [--legacy URL] [--cases FILE] [--gateway URL]
 * Sends each case of `test/parity/<route>/` to the gateway forced native, then forced legacy
 * (signed canary token), prints a table per case and exits 1 on any difference.
 */
import pg from 'pg'
import { mintCanaryToken } from '../src/rollout/canary.js'
import { type AuthKind, loadHooks, loadRouteCases, routesWithCases } from './parity/cases.js'
import { formatResults, runParity } from './parity/runner.js'
import { mintParityTokens, PARITY_OTHER_USER_ID, PARITY_USER_ID } from './parity/tokens.js'

const USAGE = `usage: npm run parity -- <route|--all> [--legacy URL] [--cases FILE] [--gateway URL]

  --gateway URL   the gateway (default $PARITY_GATEWAY_URL or http://127.0.0.1:$PORT, 8787)
  --legacy URL    send the legacy run straight to this functions URL instead of through the
                  gateway (e.g. https://<ref>.supabase.co/functions/v1)
  --cases FILE    one case file instead of test/parity/<route>/*.json
  --report        record the outcome on the gateway's progress view (needs BFF_ADMIN_TOKEN)
environment:
  BFF_CANARY_TOKEN or BFF_CANARY_SECRET   the override token (or the secret to mint one)
  PARITY_USER_JWT PARITY_OTHER_USER_JWT PARITY_OPS_JWT PARITY_SERVICE_JWT   bearer tokens,
                  else minted with SUPABASE_JWT_SECRET (HS256)
  PARITY_USER_ID PARITY_OTHER_USER_ID     the users the tokens are for (placeholders {{userId}})
  PARITY_APIKEY   sent as apikey (the project's anon key)
  DATABASE_URL    lets setup hooks seed the database both backends share`

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`)
  process.exit(2)
}

const args = process.argv.slice(2)
let route: string | undefined
let all = false
let legacyUrl: string | undefined
let casesFile: string | undefined
let report = false
let gatewayUrl = process.env.PARITY_GATEWAY_URL ?? `http://127.0.0.1:${process.env.PORT ?? '8787'}`
for (let i = 0; i < args.length; i++) {
  const arg = args[i] as string
  const value = () => args[++i] ?? fail(`${arg} needs a value`)
  if (arg === '--legacy') legacyUrl = value()
  else if (arg === '--cases') casesFile = value()
  else if (arg === '--gateway') gatewayUrl = value()
  else if (arg === '--all') all = true
  else if (arg === '--report') report = true
  else if (arg === '--help' || arg === '-h') fail('Parity between native and legacy.')
  else if (arg.startsWith('-')) fail(`unknown option ${arg}`)
  else if (route) fail(`one route at a time (got ${route} and ${arg})`)
  else route = arg
}
if (!route && !all) fail('name a route or pass --all')
if (casesFile && !route) fail('--cases needs a route')
if (report && !process.env.BFF_ADMIN_TOKEN) fail('--report needs BFF_ADMIN_TOKEN')

const env = process.env
let canaryToken = env.BFF_CANARY_TOKEN
if (!canaryToken && env.BFF_CANARY_SECRET) {
  canaryToken = await mintCanaryToken(env.BFF_CANARY_SECRET, 15 * 60)
}
const users = {
  user: env.PARITY_USER_ID ?? PARITY_USER_ID,
  other: env.PARITY_OTHER_USER_ID ?? PARITY_OTHER_USER_ID,
}
const minted = env.SUPABASE_JWT_SECRET ? await mintParityTokens(env.SUPABASE_JWT_SECRET, users) : {}
const tokens: Partial<Record<AuthKind, string>> = {
  ...minted,
  ...(env.PARITY_USER_JWT ? { user: env.PARITY_USER_JWT } : {}),
  ...(env.PARITY_OTHER_USER_JWT ? { 'other-user': env.PARITY_OTHER_USER_JWT } : {}),
  ...(env.PARITY_OPS_JWT ? { ops: env.PARITY_OPS_JWT } : {}),
  ...(env.PARITY_SERVICE_JWT ? { service: env.PARITY_SERVICE_JWT } : {}),
}
const pool = env.DATABASE_URL ? new pg.Pool({ connectionString: env.DATABASE_URL, max: 2 }) : null

let failed = 0
try {
  for (const id of route ? [route] : routesWithCases()) {
    const files = loadRouteCases(id, casesFile ? { file: casesFile } : {})
    const results = await runParity(files, {
      gatewayUrl,
      legacyUrl,
      canaryToken,
      tokens,
      apikey: env.PARITY_APIKEY,
      vars: { userId: users.user, otherUserId: users.other },
      hooks: await loadHooks(id),
      services: pool ? { sql: async (text, params) => (await pool.query(text, params)).rows } : {},
    })
    console.log(formatResults(results))
    const routeFailed = results.filter((r) => !r.ok).length
    failed += routeFailed
    if (report) {
      const res = await fetch(`${gatewayUrl.replace(/\/$/, '')}/admin/api/parity/${id}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${env.BFF_ADMIN_TOKEN}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ passed: results.length - routeFailed, failed: routeFailed }),
      })
      if (!res.ok)
        throw new Error(`could not record the run for ${id}: ${res.status} ${await res.text()}`)
      console.log(`recorded on ${gatewayUrl}: ${id} parity ${routeFailed ? 'FAILED' : 'passed'}`)
    }
  }
} catch (error) {
  console.error((error as Error).message)
  process.exitCode = 2
} finally {
  await pool?.end()
}
if (failed > 0) process.exitCode = 1
