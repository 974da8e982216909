import { execFile } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { connect } from 'node:net'
import { promisify } from 'node:util'
import pg from 'pg'
import { DEBIAN_PACKAGES, type DebianPackage } from './debian-packages.js'

/**
 * Vitest global set-up: everything the suite needs is made present before the first test, so
 * `npm install && npm test` passes on a fresh Debian machine. Missing Debian packages are
 * installed, PostgreSQL and Redis are started when they are down; what cannot be provisioned
 * stops the run at once with one line saying what to do (a test is never skipped instead).
 */
const run = promisify(execFile)

const PG_URL = process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const APT_LOCK_WAIT_S = '300'

class ProvisionError extends Error {}

export default async function provision(): Promise<void> {
  try {
    // A server already reachable (a CI service, another host) needs no local package.
    const up = { postgres: (await postgresState()) === 'up', redis: (await redisState()) === 'up' }
    await installMissingPackages((p) => !(p.server && up[p.server]))
    if (!up.postgres) await ensurePostgres()
    if (!up.redis) await ensureRedis()
  } catch (error) {
    if (!(error instanceof ProvisionError)) throw error
    // One line, no stack: the message is the instruction.
    process.stderr.write(`\nnpm test: ${error.message}\n\n`)
    process.exit(1)
  }
}

async function installMissingPackages(needed: (p: DebianPackage) => boolean): Promise<void> {
  const missing = DEBIAN_PACKAGES.filter((p) => needed(p) && !existsSync(p.provides))
  if (missing.length === 0) return
  const names = missing.map((p) => p.name)
  const install = `apt-get install -y ${names.join(' ')}`
  const sudo = await privilegePrefix()
  if (sudo === undefined || !existsSync('/usr/bin/apt-get')) {
    const why = missing.map((p) => `${p.name} for ${p.neededBy}`).join(', ')
    throw new ProvisionError(`missing ${why}; install them as root: ${install}`)
  }
  process.stderr.write(`npm test: installing ${names.join(' ')} from Debian (apt-get)\n`)
  const apt = ['-o', `DPkg::Lock::Timeout=${APT_LOCK_WAIT_S}`, '-qq']
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  try {
    await run(...command(sudo, 'apt-get', [...apt, 'update']), { env })
    await run(...command(sudo, 'apt-get', [...apt, 'install', '-y', ...names]), {
      env,
      maxBuffer: 64 * 1024 * 1024,
    })
  } catch (error) {
    const detail = lastLine((error as { stderr?: string }).stderr)
    throw new ProvisionError(`could not ${install}${detail ? ` (${detail})` : ''}`)
  }
  const still = missing.filter((p) => !existsSync(p.provides))
  if (still.length > 0) {
    throw new ProvisionError(
      `${still.map((p) => p.provides).join(', ')} still missing after ${install}`,
    )
  }
}

/** `''` as root, `'sudo'` when sudo works without a password, undefined when neither. */
async function privilegePrefix(): Promise<string | undefined> {
  if (process.getuid?.() === 0) return ''
  try {
    await run('sudo', ['-n', 'true'])
    return 'sudo'
  } catch {
    return undefined
  }
}

function command(sudo: string, file: string, args: string[]): [string, string[]] {
  return sudo ? [sudo, ['-n', file, ...args]] : [file, args]
}

async function ensurePostgres(): Promise<void> {
  let state = await postgresState()
  if (state === 'down' && isLoopback(PG_URL)) {
    const versions = existsSync('/etc/postgresql') ? readdirSync('/etc/postgresql').sort() : []
    const version = versions.at(-1)
    if (!version) {
      throw new ProvisionError(
        'PostgreSQL has no cluster under /etc/postgresql; create one: pg_createcluster 15 main',
      )
    }
    const sudo = (await privilegePrefix()) ?? ''
    // A concurrent run may start it first: the state check below is what counts.
    await run(
      ...command(sudo, 'pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start']),
    ).catch(() => undefined)
    state = await waitFor(postgresState)
  }
  if (state === 'down') {
    throw new ProvisionError(
      `PostgreSQL is not reachable at ${redact(PG_URL)}; start it: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`,
    )
  }
  if (state !== 'up') {
    throw new ProvisionError(
      `PostgreSQL at ${redact(PG_URL)} refused the test login (${state}); the suite creates throwaway databases as postgres: add "host all all 127.0.0.1/32 trust" to pg_hba.conf or set TEST_PG_ADMIN_URL`,
    )
  }
}

async function postgresState(): Promise<string> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2_000 })
  client.on('error', () => undefined)
  try {
    await client.connect()
    await client.query('select 1')
    return 'up'
  } catch (error) {
    const code = (error as { code?: string }).code
    if (code === 'ECONNREFUSED' || code === '57P03' || code === 'ENOENT') return 'down'
    return (error as Error).message
  } finally {
    await client.end().catch(() => undefined)
  }
}

async function ensureRedis(): Promise<void> {
  let state = await redisState()
  if (state === 'down' && isLoopback(REDIS_URL)) {
    const port = new URL(REDIS_URL).port || '6379'
    await run('redis-server', [
      '--daemonize',
      'yes',
      '--bind',
      '127.0.0.1',
      '-::1',
      '--port',
      port,
      '--save',
      '',
      '--appendonly',
      'no',
    ]).catch(() => undefined)
    state = await waitFor(redisState)
  }
  if (state === 'down') {
    throw new ProvisionError(
      `Redis is not reachable at ${redact(REDIS_URL)}; start it: redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no`,
    )
  }
  if (state !== 'up') {
    throw new ProvisionError(`Redis at ${redact(REDIS_URL)} answered PING with "${state}"`)
  }
}

/** PING over a raw socket: `'up'`, `'down'`, or the server's unexpected answer. */
function redisState(): Promise<string> {
  const url = new URL(REDIS_URL)
  return new Promise((resolve) => {
    const socket = connect(Number(url.port || 6379), url.hostname.replace(/^\[|\]$/g, ''))
    let answer = ''
    const done = (state: string) => {
      socket.destroy()
      resolve(state)
    }
    socket.setTimeout(2_000, () => done('down'))
    socket.once('error', () => done('down'))
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.on('data', (chunk) => {
      answer += chunk.toString('utf8')
      const line = answer.split('\r\n')[0] ?? ''
      if (answer.includes('\r\n')) done(line === '+PONG' ? 'up' : line)
    })
  })
}

async function waitFor(probe: () => Promise<string>): Promise<string> {
  let state = await probe()
  for (let i = 0; i < 50 && state === 'down'; i++) {
    await new Promise((r) => setTimeout(r, 200))
    state = await probe()
  }
  return state
}

function isLoopback(url: string): boolean {
  const host = new URL(url).hostname
  return host === '127.0.0.1' || host === 'localhost' || host === '[::1]'
}

function redact(url: string): string {
  const u = new URL(url)
  if (u.password) u.password = '***'
  return u.toString()
}

function lastLine(text: string | undefined): string {
  return (text ?? '').trim().split('\n').at(-1) ?? ''
}
