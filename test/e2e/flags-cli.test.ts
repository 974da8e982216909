import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort, type GatewayProcess, spawnGateway } from '../helpers/process.js'
import { REDIS_URL, uniqueKey } from '../integration/flags-helper.js'

const TOKEN = 'cli-e2e-admin-token-0123456789abcdef'
const key = uniqueKey('cli')
let gateway: GatewayProcess
let dir: string

interface Run {
  code: number
  stdout: string
  stderr: string
}

/** `npm run flags -- <args>` as an operator types it. */
function flags(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      'npm',
      ['run', '--silent', 'flags', '--', ...args],
      {
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '',
          USER: 'e2e-operator',
          BFF_URL: gateway.url,
          BFF_ADMIN_TOKEN: TOKEN,
          ...env,
        },
        timeout: 60_000,
      },
      (error, stdout, stderr) => {
        const code = error ? Number((error as { code?: unknown }).code ?? 1) : 0
        resolve({ code, stdout, stderr })
      },
    )
  })
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bff-flags-cli-'))
  gateway = await spawnGateway(
    {
      BFF_ADMIN_TOKEN: TOKEN,
      REDIS_URL,
      FLAGS_STORE_KEY: key,
      FLAGS_REFRESH_MS: '200',
      PGLITE_DIR: join(dir, 'pglite'),
      LOG_LEVEL: 'warn',
    },
    60_000,
  )
  // The audit trail lives in embedded PGlite here, which starts on first use and takes seconds
  // to compile and migrate (longer on a busy machine): start it before the CLI's first change,
  // so the CLI's own request deadline measures the change, not the database's start-up.
  const deadline = Date.now() + 90_000
  for (;;) {
    const ready = await fetch(`${gateway.url}/ready`).then(
      (r) => r.json() as Promise<{ checks: Record<string, string> }>,
    )
    if (ready.checks.database === 'up') break
    if (Date.now() > deadline)
      throw new Error(`the embedded database did not start: ${JSON.stringify(ready)}`)
    await new Promise((r) => setTimeout(r, 500))
  }
}, 120_000)

afterAll(async () => {
  await gateway?.stop('SIGTERM')
  await rm(dir, { recursive: true, force: true })
  const redis = new Redis(REDIS_URL)
  await redis.del(key)
  await redis.quit()
})

describe('npm run flags against the running gateway', () => {
  it('prints the effective table', async () => {
    const run = await flags(['get'])
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/^version \S+ from file:flags\.json; store redis reachable/)
    expect(run.stdout).toMatch(/ROUTE\s+NATIVE\s+STAGE/)
    expect(run.stdout).toMatch(/payment-confirm\s+0%\s+stay-legacy/)
  })

  it('ramps a route with a native handler, when this build has one, and kills any route', async () => {
    const table = JSON.parse((await flags(['get', '--json'])).stdout) as {
      routes: { id: string; hasNative: boolean }[]
    }
    const ramp = table.routes.find((r) => r.hasNative)
    if (ramp) {
      const step = await flags(['step', ramp.id, '--reason', 'cli ramp to first stage'])
      expect(step.code).toBe(0)
      expect(step.stdout).toContain(`${ramp.id}: 0 % -> 10 %`)
    }
    const target = ramp?.id ?? 'payment-checkout'
    const kill = await flags(['kill', target, '-r', 'cli e2e kill'])
    expect(kill.code).toBe(0)
    expect(kill.stdout).toMatch(
      new RegExp(`${target}: [\\d.]+ % -> 0 % \\(version v\\d+, audit #\\d+\\)`),
    )
  })

  it('shows the trail with who, where from and why', async () => {
    const run = await flags(['history', '--limit', '5'])
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/#\s+WHEN \(UTC\)\s+ROUTE\s+CHANGE\s+WHO\s+SOURCE\s+REASON/)
    expect(run.stdout).toMatch(/-> 0%\s+token:e2e-operator\s+cli\s+cli e2e kill/)
  })

  it('explains a decision', async () => {
    const run = await flags(['explain', 'payment-checkout', 'user-42'])
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/bucket\s+\d+/)
    expect(run.stdout).toMatch(/scope\s+payments/)
  })

  it('exits non-zero with the reason when the gateway refuses', async () => {
    const stay = await flags(['set', 'payment-confirm', '10', '-r', 'not allowed'])
    expect(stay.code).toBe(1)
    expect(stay.stderr).toContain('refused (422 validation-failed)')
    expect(stay.stderr).toContain('native: must be 0')
    const stale = await flags([
      'set',
      'payment-checkout',
      '10',
      '-r',
      'old view',
      '--version',
      'v999',
    ])
    expect(stale.code).toBe(1)
    expect(stale.stderr).toContain('refused (409 version-conflict)')
    const noReason = await flags(['kill', 'payment-checkout'])
    expect(noReason.code).toBe(2)
    const wrongToken = await flags(['get'], { BFF_ADMIN_TOKEN: 'wrong-token-wrong-token-wrong' })
    expect(wrongToken.code).toBe(1)
    expect(wrongToken.stderr).toContain('401')
    const noToken = await flags(['get'], { BFF_ADMIN_TOKEN: '' })
    expect(noToken.code).toBe(2)
    const nowhere = await flags(['get', '--url', `http://127.0.0.1:${await freePort()}`])
    expect(nowhere.code).toBe(3)
    expect((await flags(['frobnicate'])).code).toBe(2)
  })
})
