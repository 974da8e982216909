import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'

/**
 * Child processes of a benchmark: started pinned to a CPU when `taskset` exists, and killed
 * when the benchmark ends for any reason, so a failed run never leaves a server behind.
 */

const children = new Set<ChildProcess>()
let hooked = false

function killAll() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
  children.clear()
}

function hookExit() {
  if (hooked) return
  hooked = true
  process.once('exit', killAll)
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAll()
      process.exit(130)
    })
  }
  process.once('uncaughtException', (error) => {
    console.error(error)
    killAll()
    process.exit(1)
  })
  process.once('unhandledRejection', (error) => {
    console.error(error)
    killAll()
    process.exit(1)
  })
}

export const hasTaskset = existsSync('/usr/bin/taskset')

/**
 * The CPUs of a two-core machine: the process under test gets one core to itself, the load
 * generator and the upstream stand-in share the other. With more cores each gets its own.
 */
export const CPU = (() => {
  const n = Number(spawnSync('nproc', { encoding: 'utf8' }).stdout.trim()) || 1
  return n >= 3
    ? { server: '0', upstream: '1', load: '2' }
    : n === 2
      ? { server: '0', upstream: '1', load: '1' }
      : undefined
})()

export interface SpawnOptions {
  env?: Record<string, string>
  cwd?: string
  /** CPU list for taskset (`0`, `1-2`). */
  cpu?: string | undefined
  /** Keep stdout/stderr (for parsing); otherwise they are discarded. */
  capture?: boolean
}

export interface Proc {
  child: ChildProcess
  pid: number
  stdout: () => string
  stderr: () => string
  exited: Promise<number | null>
  stop(): Promise<void>
}

export function start(command: string, args: string[], opts: SpawnOptions = {}): Proc {
  hookExit()
  const pinned = opts.cpu !== undefined && hasTaskset
  const child = spawn(
    pinned ? 'taskset' : command,
    pinned ? ['-c', opts.cpu as string, command, ...args] : args,
    {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', opts.capture ? 'pipe' : 'ignore', 'pipe'],
    },
  )
  children.add(child)
  let out = ''
  let err = ''
  child.stdout?.on('data', (d: Buffer) => {
    if (out.length < 1_000_000) out += d.toString()
  })
  child.stderr?.on('data', (d: Buffer) => {
    if (err.length < 100_000) err += d.toString()
  })
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      children.delete(child)
      resolve(code)
    })
  })
  return {
    child,
    pid: child.pid as number,
    stdout: () => out,
    stderr: () => err,
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const done = await Promise.race([exited.then(() => true), sleep(2_000).then(() => false)])
      if (!done) {
        child.kill('SIGKILL')
        await exited
      }
    },
  }
}

/** Run a command to completion (bounded by `timeoutMs`) and return its output. */
export async function run(
  command: string,
  args: string[],
  opts: SpawnOptions & { timeoutMs: number },
) {
  const proc = start(command, args, { ...opts, capture: true })
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), opts.timeoutMs)
  const code = await proc.exited
  clearTimeout(timer)
  if (code !== 0)
    throw new Error(`${command} exited with ${code}: ${proc.stderr().slice(0, 2_000)}`)
  return proc.stdout()
}

// One free-port helper for the benchmarks and the tests.
export { freePort } from '../../test/helpers/process.js'

/** Poll `url` until it answers 200, at most `timeoutMs`. */
export async function waitForHttp(url: string, timeoutMs = 15_000, proc?: Proc): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < deadline) {
    if (proc && (proc.child.exitCode !== null || proc.child.signalCode !== null)) {
      throw new Error(`process exited before ${url} answered: ${proc.stderr().slice(0, 2_000)}`)
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) })
      await res.arrayBuffer()
      if (res.status === 200) return
      last = res.status
    } catch (error) {
      last = error
    }
    await sleep(50)
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms (${String(last)})`)
}

/** Resident set size and its high-water mark of a process, in bytes. */
export function memoryOf(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kib = (key: string) =>
    Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN)
  return { rss: kib('VmRSS') * 1024, hwm: kib('VmHWM') * 1024 }
}

/** The node binary and the loader flag that runs TypeScript servers in one process. */
export const NODE = process.execPath
export const TSX = ['--import', 'tsx']

/** CPU seconds (user + system, all threads) a process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // Fields 14 and 15 of proc(5), counted from the state field (3): utime, stime in clock ticks.
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
}

const CLOCK_TICKS =
  Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100
