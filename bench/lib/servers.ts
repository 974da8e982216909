import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ROOT } from './options.js'
import { CPU, freePort, NODE, type Proc, run, start, TSX, waitForHttp } from './proc.js'

/** Starting the processes a figure compares, each on a free loopback port. */

export interface Server {
  name: string
  port: number
  proc: Proc
  /** Base URL of the functions path on this server. */
  functions: string
}

/** The processes doing a server's work (nginx's master only supervises its worker). */
export function workerPids(server: Server): number[] {
  if (server.name !== 'nginx') return [server.proc.pid]
  try {
    const children = readFileSync(
      `/proc/${server.proc.pid}/task/${server.proc.pid}/children`,
      'utf8',
    )
    return children.trim().split(/\s+/).filter(Boolean).map(Number)
  } catch {
    return [server.proc.pid]
  }
}

const SERVERS = `${ROOT}bench/servers`
export const NGINX = '/usr/sbin/nginx'
export const hasNginx = existsSync(NGINX)
export const GATEWAY_BUILD = `${ROOT}dist/node.js`

export async function startUpstream(cpu = CPU?.upstream): Promise<Server> {
  const port = await freePort()
  const proc = start(NODE, [...TSX, `${SERVERS}/upstream.ts`], {
    env: { PORT: String(port) },
    cpu,
    cwd: ROOT,
  })
  await waitForHttp(`http://127.0.0.1:${port}/functions/v1/bench-echo`, 15_000, proc)
  return { name: 'upstream', port, proc, functions: `http://127.0.0.1:${port}/functions/v1` }
}

async function startNodeServer(
  name: string,
  script: string,
  env: Record<string, string>,
  healthPath: string,
): Promise<Server> {
  const port = await freePort()
  const proc = start(NODE, [...TSX, `${SERVERS}/${script}`], {
    env: { ...env, PORT: String(port) },
    cpu: CPU?.server,
    cwd: ROOT,
  })
  await waitForHttp(`http://127.0.0.1:${port}${healthPath}`, 15_000, proc)
  return { name, port, proc, functions: `http://127.0.0.1:${port}/functions/v1` }
}

export const startPlainProxy = (upstream: Server) =>
  startNodeServer(
    'node:http proxy',
    'plain-proxy.ts',
    { UPSTREAM_URL: `http://127.0.0.1:${upstream.port}` },
    '/functions/v1/bench-echo',
  )

export const startHonoProxy = (upstream: Server) =>
  startNodeServer(
    'Hono proxy()',
    'hono-proxy.ts',
    { UPSTREAM_URL: `http://127.0.0.1:${upstream.port}` },
    '/functions/v1/bench-echo',
  )

/** The plain proxy with undici's dispatcher upstream: a reference point (`bench:proxy --focus`). */
export const startUndiciProxy = (upstream: Server) =>
  startNodeServer(
    'undici proxy',
    'undici-proxy.ts',
    { UPSTREAM_URL: `http://127.0.0.1:${upstream.port}` },
    '/functions/v1/bench-echo',
  )

export const startFastifyProxy = (upstream: Server) =>
  startNodeServer(
    'fastify-proxy',
    'fastify-proxy.ts',
    { UPSTREAM_URL: `http://127.0.0.1:${upstream.port}`, LOG_LEVEL: 'info' },
    '/functions/v1/bench-echo',
  )

export const startBareHono = () => startNodeServer('bare Hono', 'bare-hono.ts', {}, '/health')

const POSTGRES_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

/** Whether a TCP port on loopback accepts connections (within 500 ms). */
export function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
    socket.setTimeout(500, () => done(false))
  })
}

/**
 * The gateway's database: a Postgres server when one listens on loopback (as on Cloud Run,
 * where `DATABASE_URL` is set), else embedded PGlite in a fresh folder. The proxy path never
 * queries it; it matters for start-up time and idle memory.
 */
export async function databaseEnv(): Promise<Record<string, string>> {
  const port = Number(new URL(POSTGRES_URL).port || 5432)
  if (await reachable(port)) return { DATABASE_URL: POSTGRES_URL }
  return { PGLITE_DIR: join(mkdtempSync(join(tmpdir(), 'bench-pglite-')), 'data') }
}

let built: Promise<unknown> | undefined

/** Build dist/node.js once per benchmark process, so a figure never measures a stale build. */
export function ensureBuild(): Promise<unknown> {
  built ??= run(NODE, ['scripts/build.mjs'], { cwd: ROOT, timeoutMs: 120_000 })
  return built
}

/** The gateway's settings on the proxy benchmarks (`startGateway`, `bench/builds.ts`). */
export function gatewayEnv(
  upstream: Server,
  port: number,
  logLevel: string,
): Record<string, string> {
  return {
    PORT: String(port),
    APP_ENV: 'development',
    LOG_LEVEL: logLevel,
    LEGACY_FUNCTIONS_URL: `http://127.0.0.1:${upstream.port}/functions/v1`,
    PROXY_BODY_LIMIT_BYTES: String(1024 * 1024 * 1024),
    // As many calls in flight to one function as the plain proxy's pool has sockets (256):
    // the default bulkhead (64) answers 503 beyond it, which the baselines never do.
    LEGACY_MAX_PER_FUNCTION: '256',
    // The load generators spread requests over many client addresses in this header.
    TRUSTED_IP_HEADER: 'x-forwarded-for',
  }
}

/** The built gateway (`node dist/node.js`), as it runs on Cloud Run. */
export async function startGateway(
  upstream: Server,
  {
    logLevel = 'warn',
    name = 'gateway',
    env = {},
  }: { logLevel?: string; name?: string; env?: Record<string, string> } = {},
): Promise<Server> {
  await ensureBuild()
  const port = await freePort()
  const database = await databaseEnv()
  const proc = start(NODE, [GATEWAY_BUILD], {
    cwd: ROOT,
    cpu: CPU?.server,
    env: {
      ...gatewayEnv(upstream, port, logLevel),
      ...database,
      ...env,
    },
  })
  await waitForHttp(`http://127.0.0.1:${port}/health`, 60_000, proc)
  return { name, port, proc, functions: `http://127.0.0.1:${port}/functions/v1` }
}

/** nginx-light as a reference reverse proxy: one worker, keep-alive to the upstream, no access log. */
export async function startNginx(upstream: Server): Promise<Server> {
  if (!hasNginx) throw new Error(`${NGINX} is missing: apt-get install nginx-light`)
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'bench-nginx-'))
  for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'])
    mkdirSync(join(dir, d), { mode: 0o777 })
  const conf = join(dir, 'nginx.conf')
  writeFileSync(
    conf,
    `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 10000000;
  keepalive_timeout 60s;
  upstream legacy {
    server 127.0.0.1:${upstream.port};
    keepalive 64;
    keepalive_requests 10000000;
  }
  server {
    listen 127.0.0.1:${port};
    client_max_body_size 0;
    location / {
      proxy_pass http://legacy;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $remote_addr;
    }
  }
}
`,
  )
  const proc = start(NGINX, ['-e', `${dir}/error.log`, '-c', conf, '-p', dir], { cpu: CPU?.server })
  await waitForHttp(`http://127.0.0.1:${port}/functions/v1/bench-echo`, 15_000, proc)
  return { name: 'nginx', port, proc, functions: `http://127.0.0.1:${port}/functions/v1` }
}
