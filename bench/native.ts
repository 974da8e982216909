import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { type BenchOptions, benchOptions, isMain, log, ROOT, report } from './lib/options.js'
import { CPU, freePort, NODE, start, TSX, waitForHttp } from './lib/proc.js'
import { reachable, type Server, startBareHono } from './lib/servers.js'
import { type Row, spread } from './lib/stats.js'
import { wrk } from './lib/wrk.js'

const USERS = 8_192
const ISSUER = 'https://bench.supabase.co/auth/v1'

/** Tokens of `USERS` distinct users, signed one way; written one per line for wrk. */
async function mintTokens(sign: (jwt: SignJWT) => Promise<string>, file: string) {
  const exp = Math.floor(Date.now() / 1000) + 3_600
  const lines: string[] = []
  for (let i = 0; i < USERS; i++) {
    const jwt = new SignJWT({ role: 'authenticated', email: `user${i}@example.com` })
      .setSubject(`8d0c6f7e-0000-4000-8000-${String(i).padStart(12, '0')}`)
      .setAudience('authenticated')
      .setIssuer(ISSUER)
      .setIssuedAt()
      .setExpirationTime(exp)
    lines.push(await sign(jwt))
  }
  writeFileSync(file, `${lines.join('\n')}\n`)
}

async function startNativeGateway(name: string, env: Record<string, string>): Promise<Server> {
  const port = await freePort()
  const proc = start(NODE, [...TSX, `${ROOT}bench/servers/native-gateway.ts`], {
    cwd: ROOT,
    cpu: CPU?.server,
    env: { ...env, PORT: String(port) },
  })
  await waitForHttp(`http://127.0.0.1:${port}/health`, 30_000, proc)
  return { name, port, proc, functions: `http://127.0.0.1:${port}/functions/v1` }
}

/**
 * A native route through the whole middleware stack, against a bare Hono route on
 * @hono/node-server: GET /functions/v1/settlement-export with a bearer token (one of 8,192
 * users, so per-user limits hold and the verified-token cache is exercised as in production)
 * and an allowed Origin.
 */
export async function nativeStack(opts: BenchOptions): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-native-'))
  const secret = 'bench-hs256-secret-at-least-32-characters-long'
  const { publicKey, privateKey } = await generateKeyPair('ES256')
  const jwks = JSON.stringify({
    keys: [{ ...(await exportJWK(publicKey)), kid: 'bench', alg: 'ES256', use: 'sig' }],
  })
  const hsTokens = join(dir, 'hs256.txt')
  const esTokens = join(dir, 'es256.txt')
  await mintTokens(
    (jwt) =>
      jwt.setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(new TextEncoder().encode(secret)),
    hsTokens,
  )
  await mintTokens(
    (jwt) => jwt.setProtectedHeader({ alg: 'ES256', kid: 'bench', typ: 'JWT' }).sign(privateKey),
    esTokens,
  )
  const base = { BENCH_JWT_SECRET: secret, BENCH_JWKS: jwks }
  const redis = await reachable(6379)
  const variants: { name: string; tokens: string; env: Record<string, string>; target: boolean }[] =
    [
      {
        name: 'HS256, memory limiter',
        tokens: hsTokens,
        env: { ...base, BENCH_LIMITER: 'memory' },
        target: true,
      },
      {
        name: 'ES256, memory limiter',
        tokens: esTokens,
        env: { ...base, BENCH_LIMITER: 'memory' },
        target: true,
      },
      ...(redis
        ? [
            {
              name: 'HS256, Redis limiter',
              tokens: hsTokens,
              env: { ...base, BENCH_LIMITER: 'redis' },
              target: false,
            },
            {
              name: 'ES256, Redis limiter',
              tokens: esTokens,
              env: { ...base, BENCH_LIMITER: 'redis' },
              target: false,
            },
          ]
        : []),
    ]
  if (!redis) log('no Redis on 127.0.0.1:6379: the Redis rows are skipped')
  const bare = await startBareHono()
  const servers = [] as { server: Server; tokens: string; name: string; target: boolean }[]
  for (const v of variants)
    servers.push({
      server: await startNativeGateway(v.name, v.env),
      tokens: v.tokens,
      name: v.name,
      target: v.target,
    })
  const script = `${ROOT}bench/lib/tokens.lua`
  const rps = new Map<string, number[]>()
  const push = (k: string, v: number) => rps.set(k, [...(rps.get(k) ?? []), v])
  let errors = 0
  const path = '/settlement-export'
  try {
    // Warm-up: JIT, and every token verified once into the cache.
    await wrk(`${bare.functions}/bench`, 32, 1)
    for (const s of servers)
      await wrk(`${s.server.functions}${path}`, 32, opts.quick ? 2 : 3, script, [s.tokens])
    for (let round = 0; round < opts.runs; round++) {
      const b = await wrk(`${bare.functions}/bench`, 32, opts.seconds, script, [hsTokens])
      push('bare', b.rps)
      errors += b.errors
      for (const s of servers) {
        const r = await wrk(`${s.server.functions}${path}`, 32, opts.seconds, script, [s.tokens])
        if (r.errors) log(`${s.name}: ${r.errors} errors`)
        errors += r.errors
        push(s.name, r.rps)
      }
      log(
        `round ${round + 1}/${opts.runs}: bare ${Math.round(b.rps)}/s, ${servers.map((s) => `${s.name} ${Math.round(rps.get(s.name)?.at(-1) ?? 0)}/s`).join(', ')}`,
      )
    }
  } finally {
    await Promise.all([bare, ...servers.map((s) => s.server)].map((s) => s.proc.stop()))
  }
  const bareRps = rps.get('bare') ?? []
  if (errors) log(`${errors} failed requests: the ratios are not valid`)
  return servers.map((s) => {
    const value = spread((rps.get(s.name) ?? []).map((x, i) => x / (bareRps[i] as number)))
    return {
      figure: `native route, whole stack (${s.name}), c=32`,
      baseline: 'bare Hono route',
      value,
      unit: '×',
      target: s.target ? '≥ 0.5×' : '',
      met: s.target ? errors === 0 && value.median >= 0.5 : undefined,
      detail: `${Math.round(spread(rps.get(s.name) ?? []).median)}/s vs ${Math.round(spread(bareRps).median)}/s`,
    }
  })
}

if (isMain(import.meta.url)) {
  nativeStack(benchOptions()).then(
    (rows) => {
      report('native', rows)
      process.exit(0)
    },
    (error) => {
      console.error(error)
      process.exit(1)
    },
  )
}
