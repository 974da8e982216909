import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { loadConfig, SECRET_VARS } from '../../src/config.js'
import { fakeCloud, type ServiceState } from '../fakes/gcloud.js'
import {
  CLOUD_RUN_SECRETS,
  WORKERS_SECRETS,
  type Workflow,
  workflowSecretNames,
  yamlFile,
  yamlFromText,
} from './helpers.js'

const run = promisify(execFile)

const ci = yamlFile<Workflow>('.github/workflows/ci.yml')
const workers = yamlFile<Workflow>('.github/workflows/deploy-workers.yml')
const deployStep = workers.jobs.deploy?.steps.find((s) => s.run?.includes('--secrets-file'))

const DISPATCHER = (target: string) =>
  `https://bff-gateway-${target}-123456789.asia-northeast3.run.app/functions/v1/scheduled-dispatcher`

async function schedulesTxt(): Promise<Array<[string, string]>> {
  const text = await readFile('deploy/cloud-run/schedules.txt', 'utf8')
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const [name = '', ...cron] = l.split(/\s+/)
      return [name, cron.join(' ')]
    })
}

async function secretsTxt(): Promise<string[]> {
  const text = await readFile('deploy/cloud-run/secrets.txt', 'utf8')
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .sort()
}

describe('the CI workflow', () => {
  it('runs what .ci/run runs: install, typecheck, lint, npm test', async () => {
    const ciRun = await readFile('.ci/run', 'utf8')
    const commands = ciRun
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.startsWith('npm '))
    expect(commands).toEqual([
      'npm ci --no-audit --no-fund',
      'npm run typecheck',
      'npm run lint',
      'npm test',
    ])
    const steps = (ci.jobs.test?.steps ?? []).map((s) => s.run?.trim())
    for (const command of commands) expect(steps).toContain(command)
  })

  it('caches npm and brings PostgreSQL and Redis as services on the loopback ports', () => {
    const setup = ci.jobs.test?.steps.find((s) => s.uses?.startsWith('actions/setup-node'))
    expect(setup).toMatchObject({ with: { cache: 'npm', 'node-version': 20 } })
    const services = (ci.jobs.test as unknown as { services: Record<string, { ports: string[] }> })
      .services
    expect(services.postgres?.ports).toEqual(['5432:5432'])
    expect(services.redis?.ports).toEqual(['6379:6379'])
  })

  it('runs the image check where podman or buildah exists', () => {
    const steps = (ci.jobs.image?.steps ?? []).map((s) => s.run ?? '').join('\n')
    expect(steps).toContain('npm run image:check')
    expect(steps).toMatch(/command -v podman/)
  })
})

describe('the Workers deploy workflow', () => {
  it('deploys only to a named environment, staging or production', () => {
    const runs = (workers.jobs.deploy?.steps ?? []).map((s) => s.run ?? '')
    const lines = runs.flatMap((r) => r.split('\n'))
    expect(lines.filter((l) => /wrangler deploy/.test(l))).toEqual([])
    const deploys = lines.filter((l) => /npm run worker:deploy/.test(l))
    expect(deploys.length).toBeGreaterThanOrEqual(2)
    for (const line of deploys) expect(line).toMatch(/worker:deploy -- .*--env "\$TARGET_ENV"/)
    const dispatch = workers.on.workflow_dispatch as {
      inputs: { environment: { options: string[] } }
    }
    expect(dispatch.inputs.environment.options).toEqual(['staging', 'production'])
    expect(workers.jobs.deploy?.env?.TARGET_ENV).toMatch(/'production' \|\| 'staging'\) }}$/)
  })

  it('sends every Workers secret, and only those', () => {
    expect(workflowSecretNames(deployStep ?? {})).toEqual(WORKERS_SECRETS)
    expect(Object.keys(deployStep?.env ?? {}).sort()).toEqual(WORKERS_SECRETS)
  })

  it('lists the same secrets in wrangler.toml', async () => {
    const toml = await readFile('wrangler.toml', 'utf8')
    const listed = /Secrets \(set with[^\n]*\n((?:#\s+[A-Z0-9_, ]+\n)+)/.exec(toml)?.[1] ?? ''
    expect([...listed.matchAll(/[A-Z][A-Z0-9_]+/g)].map((m) => m[0]).sort()).toEqual(
      WORKERS_SECRETS,
    )
  })
})

describe('the README', () => {
  it('lists exactly the secret variables the configuration treats as secret', async () => {
    const readme = await readFile('README.md', 'utf8')
    const line = /\*\*Secrets\*\*[^:]*\):([\s\S]*?)\n\n/.exec(readme)?.[1] ?? ''
    const names = [...line.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]).sort()
    expect(names).toEqual([...SECRET_VARS].sort())
  })
})

describe('the Cloud Run release', () => {
  it('mounts every Node secret from Secret Manager', async () => {
    expect(await secretsTxt()).toEqual(CLOUD_RUN_SECRETS)
  })

  it.each(['staging', 'production'])(
    'the %s env file plus its secrets is a configuration the gateway accepts',
    async (target) => {
      const vars = yamlFile<Record<string, string>>(`deploy/cloud-run/${target}.env.yaml`)
      for (const name of CLOUD_RUN_SECRETS) expect(vars).not.toHaveProperty(name)
      const secrets = {
        SUPABASE_SERVICE_ROLE_KEY: 'service-role-key-placeholder',
        SUPABASE_JWT_SECRET: 'jwt-secret-placeholder-0123456789abcdef',
        TOSS_SECRET_KEY: 'test_sk_placeholder',
        ANTHROPIC_API_KEY: 'sk-ant-placeholder',
        BFF_ADMIN_TOKEN: 'admin-token-placeholder-0123456789',
        BFF_CANARY_SECRET: 'canary-secret-placeholder-0123456789abcdef',
        DATABASE_URL: 'postgres://gateway@10.0.0.5:5432/postgres',
        REDIS_URL: 'redis://10.0.0.3:6379',
        PORTONE_API_SECRET: 'portone-secret-placeholder',
        IDENTITY_CI_KEYS: `k1:${Buffer.alloc(32, 1).toString('base64')}`,
        IDENTITY_CI_HASH_KEY: 'ci-hash-key-placeholder-0123456789abcdef',
        SENTRY_DSN: 'https://0123abcd@o1.ingest.sentry.io/4501',
        OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20placeholder',
      }
      expect(Object.keys(secrets).sort()).toEqual(CLOUD_RUN_SECRETS)
      const config = loadConfig({ ...vars, ...secrets, PORT: '8080' })
      expect(config.APP_ENV).toBe(target)
    },
  )
})

describe('the Cloud Run deploy scripts against a stand-in gcloud', () => {
  const tagged = (tag: string): ServiceState['traffic'][number] => ({
    revisionName: `svc-${tag}`,
    tag,
    url: `https://${tag}---svc-x.a.run.app`,
  })
  const base = {
    REGION: 'asia-northeast3',
    PROJECT_ID: 'proj',
    PROJECT_NUMBER: '123456789',
    TAG: 'c-abc1234',
  }
  const script = (name: string, env: Record<string, string>) =>
    run('bash', [`deploy/cloud-run/${name}.sh`], { env: { ...process.env, ...base, ...env } })
  const after: ServiceState = {
    url: 'https://svc-x.a.run.app',
    traffic: [{ revisionName: 'svc-old', percent: 100 }, tagged('c-abc1234')],
  }

  it('creates a new service with its first revision, tagged, then probes the tag URL', async () => {
    const cloud = await fakeCloud({ afterDeploy: after })
    await script('deploy', { ...cloud.env, TARGET: 'staging', IMAGE: 'img:sha' })
    const deploy = (await cloud.calls()).find((c) => c[1] === 'deploy') ?? []
    expect(deploy.slice(0, 3)).toEqual(['run', 'deploy', 'bff-gateway-staging'])
    expect(deploy).not.toContain('--no-traffic')
    expect(deploy.join(' ')).toContain('--tag c-abc1234')
    expect(deploy.join(' ')).toContain(
      '--service-account bff-gateway-staging@proj.iam.gserviceaccount.com',
    )
    const envVars = yamlFromText(await cloud.envVars())
    expect(envVars).toMatchObject({
      ...yamlFile('deploy/cloud-run/staging.env.yaml'),
      SCHEDULER_AUDIENCE: `${DISPATCHER('staging')}`,
      SCHEDULER_SERVICE_ACCOUNT: 'bff-scheduler-staging@proj.iam.gserviceaccount.com',
    })
    const secrets = deploy[deploy.indexOf('--set-secrets') + 1]?.split(',').sort()
    expect(secrets).toEqual(CLOUD_RUN_SECRETS.map((n) => `${n}=staging-${n}:latest`).sort())
    expect(await cloud.probes()).toEqual([
      'https://c-abc1234---svc-x.a.run.app/health',
      'https://c-abc1234---svc-x.a.run.app/ready',
    ])
    await rm(cloud.bin, { recursive: true })
  })

  it('leaves out a secret that was not created, and says so', async () => {
    const cloud = await fakeCloud({
      afterDeploy: after,
      missingSecrets: ['staging-ANTHROPIC_API_KEY'],
    })
    const { stdout } = await script('deploy', { ...cloud.env, TARGET: 'staging', IMAGE: 'img:sha' })
    const deploy = (await cloud.calls()).find((c) => c[1] === 'deploy') ?? []
    const secrets = deploy[deploy.indexOf('--set-secrets') + 1]?.split(',') ?? []
    expect(secrets).toHaveLength(CLOUD_RUN_SECRETS.length - 1)
    expect(secrets.join()).not.toContain('ANTHROPIC_API_KEY')
    expect(stdout).toContain('secret staging-ANTHROPIC_API_KEY does not exist')
    await rm(cloud.bin, { recursive: true })
  })

  it('deploys a later release with no traffic', async () => {
    const cloud = await fakeCloud({ service: after, afterDeploy: after })
    await script('deploy', { ...cloud.env, TARGET: 'production', IMAGE: 'img:sha' })
    const deploy = (await cloud.calls()).find((c) => c[1] === 'deploy') ?? []
    expect(deploy).toContain('--no-traffic')
    expect(deploy.join(' ')).toContain('--min-instances 1')
    await rm(cloud.bin, { recursive: true })
  })

  it('production: canary share, probes, then all traffic on the tag', async () => {
    const cloud = await fakeCloud({ service: after, afterDeploy: after })
    const { stdout } = await script('promote', {
      ...cloud.env,
      TARGET: 'production',
      CANARY_PERCENT: '10',
      BAKE_SECONDS: '1',
      PROBE_INTERVAL_SECONDS: '0.2',
    })
    const moves = (await cloud.calls()).filter((c) => c[2] === 'update-traffic')
    expect(moves.map((c) => c.slice(3, 7))).toEqual([
      ['bff-gateway-production', '--region', 'asia-northeast3', '--to-tags'],
      ['bff-gateway-production', '--region', 'asia-northeast3', '--to-tags'],
    ])
    expect(moves.map((c) => c[7])).toEqual(['c-abc1234=10', 'c-abc1234=100'])
    expect((await cloud.probes()).length).toBeGreaterThan(0)
    expect(stdout).toContain('--to-revisions svc-old=100')
    await rm(cloud.bin, { recursive: true })
  })

  it('production: a failed canary probe puts the traffic back and fails the build', async () => {
    const cloud = await fakeCloud({ service: after, afterDeploy: after, failUrlPart: 'c-abc1234' })
    const failed = await script('promote', {
      ...cloud.env,
      TARGET: 'production',
      BAKE_SECONDS: '5',
      PROBE_INTERVAL_SECONDS: '0.2',
    }).catch((error: { code: number; stderr: string }) => error)
    expect(failed).toMatchObject({ code: 1 })
    const moves = (await cloud.calls()).filter((c) => c[2] === 'update-traffic')
    expect(moves.map((c) => c.slice(6, 8))).toEqual([
      ['--to-tags', 'c-abc1234=10'],
      ['--to-revisions', 'svc-old=100'],
    ])
    await rm(cloud.bin, { recursive: true })
  })

  it('staging moves all traffic at once', async () => {
    const cloud = await fakeCloud({ service: after, afterDeploy: after })
    await script('promote', { ...cloud.env, TARGET: 'staging' })
    const moves = (await cloud.calls()).filter((c) => c[2] === 'update-traffic')
    expect(moves.map((c) => c.slice(6, 8))).toEqual([['--to-tags', 'c-abc1234=100']])
    await rm(cloud.bin, { recursive: true })
  })

  it.each([
    [false, 'create'],
    [true, 'update'],
  ])(
    'declares one dispatcher job per schedule, with an OIDC token (job exists: %s → %s)',
    async (exists, verb) => {
      const cloud = await fakeCloud({ service: after, afterDeploy: after, jobExists: exists })
      await script('scheduler', { ...cloud.env, TARGET: 'production' })
      const jobs = (await cloud.calls()).filter((c) => c[0] === 'scheduler' && c[2] === verb)
      const schedules = await schedulesTxt()
      expect(jobs.map((c) => c[4])).toEqual(
        schedules.map(([name]) => `bff-jobs-production-${name}`),
      )
      for (const [i, call] of jobs.entries()) {
        const flag = (name: string) => call[call.indexOf(name) + 1]
        const cron = schedules[i]?.[1]
        expect(flag('--schedule')).toBe(cron)
        expect(JSON.parse(flag('--message-body') ?? '')).toEqual({ cron })
        expect(flag('--uri')).toBe(DISPATCHER('production'))
        expect(flag('--oidc-token-audience')).toBe(DISPATCHER('production'))
        expect(flag('--oidc-service-account-email')).toBe(
          'bff-scheduler-production@proj.iam.gserviceaccount.com',
        )
        expect(flag('--time-zone')).toBe('Etc/UTC')
      }
      await rm(cloud.bin, { recursive: true })
    },
  )

  it('schedules the same cron expressions as the Workers triggers of every environment', async () => {
    const toml = await readFile('wrangler.toml', 'utf8')
    const triggers = [...toml.matchAll(/^crons = (\[.*\])$/gm)].map((m) => JSON.parse(m[1] ?? '[]'))
    expect(triggers.length).toBeGreaterThanOrEqual(3)
    const crons = (await schedulesTxt()).map(([, cron]) => cron)
    for (const list of triggers) expect([...list].sort()).toEqual([...crons].sort())
  })
})

describe('the delivery validators in npm run lint', () => {
  it('accept the files as committed', async () => {
    await expect(run('npx', ['tsx', 'scripts/check-delivery.ts'])).resolves.toBeDefined()
  }, 60_000)

  it('reject a workflow and a Cloud Build file that their schemas refuse', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bff-delivery-lint-'))
    const build = (await readFile('cloudbuild.yaml', 'utf8'))
      .replace('entrypoint: bash', 'entrypiont: bash')
      .replace('timeout: 3600s', 'timeout: 3600')
      .replace('{_TARGET}', '{_TARGTE}')
    await writeFile(join(dir, 'cloudbuild.yaml'), build)
    const workflow = (await readFile('.github/workflows/ci.yml', 'utf8')).replace(
      'runs-on: ubuntu-24.04',
      'runs_on: ubuntu-24.04',
    )
    await writeFile(join(dir, 'ci.yml'), workflow)
    const failed = await run('npx', [
      'tsx',
      'scripts/check-delivery.ts',
      join(dir, 'cloudbuild.yaml'),
      dir,
    ]).catch((error: { code: number; stderr: string }) => error)
    await rm(dir, { recursive: true })
    expect(failed).toMatchObject({ code: 1 })
    const stderr = (failed as { stderr: string }).stderr
    expect(stderr).toContain("'\"entrypiont\"' does not exist in type 'BuildStep'")
    expect(stderr).toContain("Type 'number' is not assignable to type 'string'")
    expect(stderr).toContain('$_TARGTE is neither a built-in nor a declared substitution')
    expect(stderr).toMatch(/ci\.yml: not a valid workflow .*runs_on/)
  }, 60_000)
})
