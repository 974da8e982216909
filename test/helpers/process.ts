import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

let built: Promise<unknown> | undefined

/** `npm run build` once per test file (the Dockerfile runs the same build). */
export function buildOnce(): Promise<unknown> {
  built ??= promisify(execFile)('node', ['scripts/build.mjs'])
  return built
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

export interface GatewayProcess {
  url: string
  child: ChildProcess
  stdout: string[]
  stderr: string[]
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

/**
 * Without a database configured the gateway opens embedded PGlite, which one process at a time
 * may use: every spawned gateway gets a data directory of its own.
 */
function ownDatabase(env: Record<string, string>): Record<string, string> {
  if (env.DATABASE_URL || env.PGLITE_DIR) return {}
  return { PGLITE_DIR: join(mkdtempSync(join(tmpdir(), 'bff-pglite-')), 'db') }
}

/** Spawn the built Node entry (`node dist/node.js`) and wait for /health. */
export async function spawnGateway(
  env: Record<string, string>,
  timeoutMs = 15_000,
): Promise<GatewayProcess> {
  await buildOnce()
  const port = await freePort()
  const child = spawn(process.execPath, ['dist/node.js'], {
    env: { PATH: process.env.PATH ?? '', PORT: String(port), ...ownDatabase(env), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const stdout: string[] = []
  const stderr: string[] = []
  child.stdout
    ?.setEncoding('utf8')
    .on('data', (d: string) => stdout.push(...d.split('\n').filter(Boolean)))
  child.stderr
    ?.setEncoding('utf8')
    .on('data', (d: string) => stderr.push(...d.split('\n').filter(Boolean)))
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  )
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (child.exitCode !== null) throw new Error(`gateway exited: ${stderr.join('\n')}`)
    try {
      const res = await fetch(`${url}/health`)
      if (res.ok) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`gateway did not become healthy: ${stderr.join('\n')}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  return {
    url,
    child,
    stdout,
    stderr,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal)
      return exited
    },
  }
}

/** Run the built entry expecting it to refuse to start; returns exit code and stderr. */
export async function failedStart(
  env: Record<string, string>,
): Promise<{ code: number | null; stderr: string }> {
  await buildOnce()
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['dist/node.js'], {
      env: { PATH: process.env.PATH ?? '', ...ownDatabase(env), ...env },
    })
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, stderr })
    })
  })
}
