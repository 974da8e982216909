/**
 * `npm run image:check` (as root): builds the real Dockerfile with podman and runs the image as
 * Cloud Run would, with PORT=8080: /health, a function proxied to a local legacy stand-in, the
 * unprivileged user, and SIGTERM draining an in-flight request before a clean exit.
 *
 * The base image is used when present, or pulled with IMAGE_CHECK_PULL=1; otherwise
 * `scripts/image-base.sh` assembles a local stand-in under the same name. Podman runs rootful with its own storage under
 * IMAGE_CHECK_DIR (vfs, cgroupfs, host network), which also works inside unprivileged sandboxes.
 */
import { execFile, spawn } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { promisify } from 'node:util'
import { startLegacyStandIn } from '../test/fakes/legacy-functions.js'

const run = promisify(execFile)
const BASE = 'docker.io/library/node:20-bookworm-slim'
const IMAGE = 'localhost/bff-gateway:check'
const dir = process.env.IMAGE_CHECK_DIR ?? '/var/tmp/bff-image-check'
const storage = [
  '--root',
  `${dir}/storage`,
  '--runroot',
  `${dir}/run`,
  '--storage-driver',
  'vfs',
  '--cgroup-manager',
  'cgroupfs',
]

/**
 * runc where present: crun refuses cgroup v1 with a v2 hierarchy mounted beside it ("cgroups in
 * hybrid mode not supported"), as in some sandboxes.
 */
const runtime = ['/usr/bin/runc', '/usr/sbin/runc'].some(existsSync) ? ['--runtime', 'runc'] : []
storage.push(...runtime)

/**
 * Explicit limits no higher than this process may set: podman's defaults (1048576 files,
 * 4194304 processes) need CAP_SYS_RESOURCE, which sandboxes withhold, and the process limit
 * the container's init may take is capped by pid_max there.
 */
function ulimits(): string[] {
  const limits = readFileSync('/proc/self/limits', 'utf8')
  const hard = (name: string) =>
    Number(new RegExp(`^${name}\\s+\\S+\\s+(\\d+)`, 'm').exec(limits)?.[1])
  const pidMax = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8'))
  const files = hard('Max open files') || 1024
  const procs = Math.min(hard('Max processes') || pidMax, pidMax)
  return ['--ulimit', `nofile=${files}:${files}`, '--ulimit', `nproc=${procs}:${procs}`]
}

function step(message: string): void {
  process.stdout.write(`image:check: ${message}\n`)
}

function fail(message: string): never {
  process.stderr.write(`image:check: FAILED: ${message}\n`)
  process.exit(1)
}

async function podman(args: string[], timeout = 0): Promise<string> {
  const { stdout } = await run('podman', [...storage, ...args], {
    timeout,
    maxBuffer: 64 * 1024 * 1024,
  })
  return stdout.trim()
}

async function podmanOrFail(args: string[]): Promise<string> {
  return podman(args).catch((error: { stderr?: string }) =>
    fail(`podman ${args[0]}: ${String(error.stderr ?? error).trim()}`),
  )
}

/** Runs podman with its output streamed (long builds), resolving with the exit code. */
function podmanStreaming(args: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn('podman', [...storage, ...args], {
      stdio: ['ignore', 'inherit', 'inherit'],
    })
    child.on('exit', (code) => resolve(code ?? 1))
  })
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer()
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

async function baseImage(): Promise<string> {
  if (
    await podman(['image', 'exists', BASE]).then(
      () => true,
      () => false,
    )
  ) {
    const label = await podman(['image', 'inspect', '--format', '{{.Comment}}', BASE]).catch(
      () => '',
    )
    return label.includes('stand-in') ? 'local stand-in (cached)' : 'present'
  }
  // Pulling is asked for (IMAGE_CHECK_PULL=1, as CI does): a closed network is not probed.
  if (process.env.IMAGE_CHECK_PULL === '1') {
    const pulled = await podman(['pull', '--quiet', BASE], 300_000).then(
      () => true,
      () => false,
    )
    if (pulled) return 'pulled'
  }
  step(`${BASE} is not here (IMAGE_CHECK_PULL=1 pulls it): assembling a local stand-in`)
  await run('bash', ['scripts/image-base.sh', ...storage], { maxBuffer: 16 * 1024 * 1024 }).catch(
    (error: { stderr?: string }) => fail(`stand-in base image: ${String(error.stderr).trim()}`),
  )
  return 'local stand-in'
}

async function waitForHealth(url: string, container: string, ms = 30_000): Promise<Response> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    const res = await fetch(`${url}/health`).catch(() => undefined)
    if (res) return res
    const state = await podman(['inspect', '--format', '{{.State.Status}}', container]).catch(
      () => 'gone',
    )
    if (state !== 'running') {
      const logs = await podman(['logs', container]).catch(() => '')
      fail(`the container stopped before answering /health (${state}):\n${logs}`)
    }
    await new Promise((r) => setTimeout(r, 200))
  }
  fail(`no answer on ${url}/health within ${ms / 1000} s`)
}

if (process.getuid?.() !== 0)
  fail('run as root (podman runs rootful here): sudo npm run image:check')
await run('podman', ['--version']).catch(() =>
  fail('podman is not installed: apt-get install podman'),
)
mkdirSync(dir, { recursive: true })

step(`base image ${BASE}: ${await baseImage()}`)

/**
 * A machine whose HTTPS egress goes through an inspecting proxy trusts its CA through npm's
 * `cafile`: the build's `npm ci` gets the same file through build-time mounts (an npmrc at the
 * image's global npmrc path). Nothing of it is committed to the image.
 */
async function npmTrust(): Promise<string[]> {
  const { stdout } = await run('npm', ['config', 'get', 'cafile']).catch(() => ({ stdout: '' }))
  const cafile = stdout.trim()
  if (!cafile || cafile === 'null' || cafile === 'undefined' || !existsSync(cafile)) return []
  const npmrc = `${dir}/npmrc`
  writeFileSync(npmrc, `cafile=${cafile}\n`)
  step(`npm in the build trusts ${cafile} (build-time mount, not in the image)`)
  return ['--volume', `${cafile}:${cafile}:ro`, '--volume', `${npmrc}:/usr/local/etc/npmrc:ro`]
}

const trust = await npmTrust()
const started = Date.now()
const built = await podmanStreaming([
  'build',
  '--pull=never',
  '--network',
  'host',
  ...ulimits(),
  ...trust,
  '--layers=false',
  '-t',
  IMAGE,
  '.',
])
if (built !== 0) fail(`podman build exited ${built}`)
// The previous check's image, untagged by this build (the storage is this script's own).
await podman(['image', 'prune', '--force']).catch(() => undefined)
const size = Number(await podman(['image', 'inspect', '--format', '{{.Size}}', IMAGE]))
step(
  `built ${IMAGE} in ${Math.round((Date.now() - started) / 1000)} s, ${Math.round(size / 1e6)} MB`,
)

const user = await podman(['image', 'inspect', '--format', '{{.Config.User}}', IMAGE])
if (user !== 'node') fail(`the image runs as "${user}", not node`)

const legacy = await startLegacyStandIn()
const port = (await portIsFree(8080)) ? 8080 : await freePort()
const url = `http://127.0.0.1:${port}`
const container = `bff-image-check-${process.pid}`
let exitCode: number | undefined
try {
  await podmanOrFail([
    'run',
    '--detach',
    '--name',
    container,
    '--network',
    'host',
    ...ulimits(),
    '--env',
    `PORT=${port}`,
    '--env',
    'APP_ENV=staging',
    '--env',
    `LEGACY_FUNCTIONS_URL=${legacy.functionsUrl}`,
    '--env',
    'REDIS_URL=redis://127.0.0.1:6379',
    '--env',
    'BFF_CANARY_SECRET=image-check-canary-secret-0123456789',
    '--env',
    'SUPABASE_JWT_SECRET=image-check-jwt-secret-0123456789abcdef',
    '--env',
    'SHUTDOWN_GRACE_MS=9000',
    IMAGE,
  ])
  const health = await waitForHealth(url, container)
  if (health.status !== 200) fail(`/health answered ${health.status}`)
  step(`PORT=${port}: /health 200`)

  const uid = await podman(['exec', container, 'id', '-u'])
  if (uid !== '1000') fail(`the process runs as uid ${uid}`)
  step('runs as node (uid 1000)')

  const app = (await podman(['exec', container, 'ls', '-A', '/app'])).split('\n').sort()
  const expected = [
    '.data',
    'dist',
    'flags.json',
    'flags.schema.json',
    'node_modules',
    'package-lock.json',
    'package.json',
    'supabase',
  ]
  if (app.join() !== expected.join()) fail(`/app holds ${app.join(', ')}`)
  const devOnly = ['vitest', 'wrangler', 'miniflare', 'typescript', 'esbuild', 'tsx', '@biomejs']
  const present = await podman([
    'exec',
    container,
    'sh',
    '-c',
    `cd /app/node_modules && for d in ${devOnly.join(' ')}; do [ -e "$d" ] && echo "$d"; done; true`,
  ])
  if (present) fail(`development packages in the image: ${present.replace(/\n/g, ', ')}`)
  const writes = await podman([
    'exec',
    container,
    'sh',
    '-c',
    'touch /app/.data/w && echo data-writable; touch /app/w 2>/dev/null && echo app-writable; true',
  ])
  if (writes !== 'data-writable') fail(`writable as node: ${writes.replace(/\n/g, ', ')}`)
  step(`/app holds the build and production dependencies only; only .data is writable`)

  const proxied = await fetch(`${url}/functions/v1/echo?from=image`, { method: 'POST', body: 'hi' })
  const echoed = (await proxied.json()) as { method: string; url: string; bodyBase64: string }
  if (
    proxied.status !== 200 ||
    proxied.headers.get('x-bff-backend') !== 'legacy' ||
    echoed.url !== '/functions/v1/echo?from=image' ||
    Buffer.from(echoed.bodyBase64, 'base64').toString() !== 'hi'
  ) {
    fail(`proxied call: ${proxied.status} ${proxied.headers.get('x-bff-backend')} ${echoed.url}`)
  }
  step('POST /functions/v1/echo proxied to legacy: 200, body and query intact')

  const inFlight = fetch(`${url}/functions/v1/slow?ms=2500`).then(async (r) => ({
    status: r.status,
    body: await r.text(),
  }))
  await new Promise((r) => setTimeout(r, 500))
  const signalled = Date.now()
  await podman(['kill', '--signal', 'TERM', container])
  await new Promise((r) => setTimeout(r, 300))
  const late = await fetch(`${url}/health`).then(
    (r) => `answered ${r.status}`,
    () => 'refused',
  )
  const drained = await inFlight
  exitCode = Number(await podman(['wait', container], 30_000))
  const stoppedIn = Date.now() - signalled
  if (drained.status !== 200 || drained.body !== 'late') {
    fail(`the in-flight request got ${drained.status} "${drained.body}" after SIGTERM`)
  }
  if (late !== 'refused' && late !== 'answered 503') fail(`after SIGTERM a new request ${late}`)
  if (exitCode !== 0) fail(`exit code ${exitCode} after SIGTERM`)
  const logs = await podman(['logs', container])
  if (!/"outcome":"drained"/.test(logs)) fail(`no drained stop in the logs:\n${logs}`)
  step(
    `SIGTERM: in-flight request finished (200), new requests ${late}, exit 0 after ${(stoppedIn / 1000).toFixed(1)} s`,
  )
} finally {
  await podman(['rm', '--force', container]).catch(() => undefined)
  await legacy.close()
}
step('passed')
