import { execFile, spawn } from 'node:child_process'
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type LegacyStandIn, startLegacyStandIn } from '../fakes/legacy-functions.js'
import { buildOnce, freePort } from '../helpers/process.js'

/**
 * No Docker engine here, so the image's runtime stage is reproduced step by step: production
 * dependencies only (`npm ci --omit=dev`), the built `dist/`, `flags.json`, then the CMD.
 * A runtime import of a dev dependency fails this test.
 */
let dir: string
let legacy: LegacyStandIn
const run = promisify(execFile)

beforeAll(async () => {
  await buildOnce()
  legacy = await startLegacyStandIn()
  dir = await mkdtemp(join(tmpdir(), 'bff-image-'))
  for (const f of ['package.json', 'package-lock.json', 'flags.json']) await cp(f, join(dir, f))
  await cp('dist', join(dir, 'dist'), { recursive: true })
  await cp('supabase', join(dir, 'supabase'), { recursive: true })
  await run(
    'npm',
    ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'],
    {
      cwd: dir,
      env: { ...process.env, NODE_ENV: 'production' },
    },
  )
}, 300_000)

afterAll(async () => {
  await legacy?.close()
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('the Dockerfile', () => {
  it('builds in one stage and runs the built entry as a non-root user in another', async () => {
    const dockerfile = await readFile('Dockerfile', 'utf8')
    expect(dockerfile).toMatch(/^FROM .* AS build$/m)
    expect(dockerfile).toMatch(/^RUN npm run build$/m)
    expect(dockerfile).toMatch(/^RUN npm ci --omit=dev/m)
    expect(dockerfile).toMatch(/^USER node$/m)
    expect(dockerfile).toMatch(/^CMD \["node", "dist\/node.js"\]$/m)
  })

  it('serves with production dependencies only, honouring PORT', async () => {
    const port = await freePort()
    const child = spawn(process.execPath, ['dist/node.js'], {
      cwd: dir,
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'production',
        APP_ENV: 'staging',
        PORT: String(port),
        LEGACY_FUNCTIONS_URL: legacy.functionsUrl,
        BFF_CANARY_SECRET: 'image-test-canary-secret-0123456789',
        REDIS_URL: 'redis://127.0.0.1:6379',
        SUPABASE_JWT_SECRET: 'image-test-jwt-secret-0123456789abcdef',
        DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/postgres',
      },
    })
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d
    })
    try {
      const deadline = Date.now() + 15_000
      let health: Response | undefined
      while (!health && Date.now() < deadline && child.exitCode === null) {
        health = await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined)
        if (!health) await new Promise((r) => setTimeout(r, 50))
      }
      expect(stderr).toBe('')
      expect(health?.status).toBe(200)
      const proxied = await fetch(`http://127.0.0.1:${port}/functions/v1/echo`)
      expect(proxied.headers.get('x-bff-backend')).toBe('legacy')
    } finally {
      child.kill('SIGTERM')
    }
  })
})
