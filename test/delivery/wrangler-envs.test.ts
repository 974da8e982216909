import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WORKERS_SECRETS } from './helpers.js'

/**
 * What the Workers deploy workflow runs, short of the upload: `npm run worker:deploy --
 * --dry-run` for each named environment, with the secrets file the workflow builds.
 */
const run = promisify(execFile)
let dir: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bff-wrangler-envs-'))
  const secrets = Object.fromEntries(WORKERS_SECRETS.map((n) => [n, `dry-run-${n.toLowerCase()}`]))
  await writeFile(join(dir, 'secrets.json'), JSON.stringify(secrets), { mode: 0o600 })
})

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true })
})

async function dryRun(env: string): Promise<string> {
  const { stdout, stderr } = await run(
    'npm',
    [
      'run',
      '--silent',
      'worker:deploy',
      '--',
      '--dry-run',
      '--env',
      env,
      '--outdir',
      join(dir, env),
      '--secrets-file',
      join(dir, 'secrets.json'),
    ],
    { env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true' } },
  )
  return stdout + stderr
}

describe.each(['staging', 'production'])('wrangler deploy --dry-run --env %s', (env) => {
  let output: string
  beforeAll(async () => {
    output = await dryRun(env)
  }, 120_000)

  it('bundles the worker and stops before uploading', () => {
    expect(output).toContain('Total Upload:')
    expect(output).toContain('--dry-run: exiting now.')
  })

  it(`runs with APP_ENV=${env} and the environment's own settings`, () => {
    expect(output).toContain(`env.APP_ENV ("${env}")`)
    expect(output).toMatch(/env\.SUPABASE_URL \("https:\/\/[^"]+"\)/)
    expect(output).toMatch(/env\.UPSTASH_REDIS_REST_URL \("https:\/\/[^"]+"\)/)
    expect(output).toContain('env.TRUSTED_IP_HEADER ("cf-connecting-ip")')
  })

  it('takes every Workers secret from the secrets file, hidden', () => {
    for (const name of WORKERS_SECRETS) expect(output).toContain(`env.${name} ("(hidden)")`)
    expect(output).not.toContain('dry-run-')
  })
})
