import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process'
import { chownSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import { freePort } from '../../../test/helpers/process.js'
import { reachable } from '../../lib/servers.js'

/**
 * Private PostgreSQL and Redis servers for the drills that stop and restart them. The shared
 * servers on the default ports serve other suites and are never touched: each private server
 * lives in a temporary folder, listens on a free loopback port and is removed at the end.
 */

const exec = promisify(execFile)
const PG_BIN = process.env.DRILL_PG_BIN ?? '/usr/lib/postgresql/15/bin'
const isRoot = process.getuid?.() === 0

/** initdb and the server refuse to run as root: run them as `postgres` when we are root. */
function asPostgres(command: string, args: string[]): [string, string[]] {
  return isRoot ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args]
}

function postgresUid(): { uid: number; gid: number } | undefined {
  if (!isRoot) return undefined
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim())
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim())
  return { uid, gid }
}

export interface PrivatePostgres {
  url: string
  port: number
  /** `pg_ctl stop -m fast` (terminates sessions, as a restart does). */
  stop(): Promise<void>
  start(): Promise<void>
  /** `pg_ctl restart -m fast`. */
  restart(): Promise<void>
  close(): Promise<void>
}

export async function privatePostgres(): Promise<PrivatePostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'drill-pg-'))
  const owner = postgresUid()
  if (owner) chownSync(dir, owner.uid, owner.gid)
  const data = join(dir, 'data')
  const port = await freePort()
  await exec(...asPostgres(`${PG_BIN}/initdb`, ['-D', data, '-A', 'trust', '-U', 'postgres']))
  const ctl = (args: string[]) =>
    exec(
      ...asPostgres(`${PG_BIN}/pg_ctl`, [
        '-D',
        data,
        '-l',
        join(dir, 'server.log'),
        '-o',
        `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
        '-w',
        '-t',
        '60',
        ...args,
      ]),
    )
  await ctl(['start'])
  let running = true
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    async stop() {
      await ctl(['stop', '-m', 'fast'])
      running = false
    },
    async start() {
      await ctl(['start'])
      running = true
    },
    async restart() {
      await ctl(['restart', '-m', 'fast'])
      running = true
    },
    async close() {
      if (running) await ctl(['stop', '-m', 'immediate']).catch(() => {})
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

export interface PrivateRedis {
  url: string
  port: number
  stop(): Promise<void>
  start(): Promise<void>
  close(): Promise<void>
}

export async function privateRedis(): Promise<PrivateRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'drill-redis-'))
  const port = await freePort()
  let child: ChildProcess | undefined
  const start = async () => {
    child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--daemonize',
        'no',
        '--dir',
        dir,
      ],
      { stdio: 'ignore' },
    )
    const deadline = Date.now() + 10_000
    while (!(await reachable(port))) {
      if (Date.now() > deadline) throw new Error(`redis-server did not listen on ${port}`)
      await sleep(20)
    }
  }
  const stop = async () => {
    const c = child
    if (!c || c.exitCode !== null || c.signalCode !== null) return
    const exited = new Promise((resolve) => c.once('exit', resolve))
    c.kill('SIGTERM')
    const timer = setTimeout(() => c.kill('SIGKILL'), 5_000)
    await exited
    clearTimeout(timer)
  }
  await start()
  process.once('exit', () => child?.kill('SIGKILL'))
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    start,
    stop,
    async close() {
      await stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
