import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TLSSocket } from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type GatewayProcess, spawnGateway } from '../helpers/process.js'

/**
 * Legacy over HTTPS, as in production (`https://<project>.supabase.co/functions/v1`): the built
 * server reaches a TLS stand-in with a certificate of its own CA, sends SNI, keeps the
 * connection alive between calls, and refuses a certificate it does not trust.
 */

let dir: string
let upstream: Server
let origin: string
let trusted: GatewayProcess
let untrusted: GatewayProcess
const handshakes: string[] = []

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bff-tls-'))
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  )
  upstream = createServer(
    { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) },
    (req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(
          JSON.stringify({
            method: req.method,
            url: req.url,
            host: req.headers.host,
            body: Buffer.concat(chunks).toString(),
          }),
        )
      })
    },
  )
  upstream.on('secureConnection', (socket: TLSSocket) =>
    handshakes.push(String((socket as TLSSocket & { servername?: string }).servername)),
  )
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
  origin = `https://localhost:${(upstream.address() as AddressInfo).port}`
  trusted = await spawnGateway({
    LEGACY_FUNCTIONS_URL: `${origin}/functions/v1`,
    NODE_EXTRA_CA_CERTS: join(dir, 'cert.pem'),
  })
  untrusted = await spawnGateway({ LEGACY_FUNCTIONS_URL: `${origin}/functions/v1` })
})

afterAll(async () => {
  await trusted?.stop('SIGKILL')
  await untrusted?.stop('SIGKILL')
  await new Promise<void>((resolve) => upstream?.close(() => resolve()))
  upstream?.closeAllConnections()
  rmSync(dir, { recursive: true, force: true })
})

describe('legacy functions over HTTPS', () => {
  it('proxies over TLS with SNI, and keeps the connection for the next calls', async () => {
    const before = handshakes.length
    for (const n of [1, 2, 3]) {
      const res = await fetch(`${trusted.url}/functions/v1/echo?n=${n}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ n }),
      })
      expect(res.status).toBe(200)
      expect(res.headers.get('x-bff-backend')).toBe('legacy')
      const echoed = (await res.json()) as {
        method: string
        url: string
        host: string
        body: string
      }
      expect(echoed).toEqual({
        method: 'POST',
        url: `/functions/v1/echo?n=${n}`,
        host: new URL(origin).host,
        body: JSON.stringify({ n }),
      })
    }
    expect(handshakes.slice(before)).toEqual(['localhost'])
  })

  it('refuses a legacy certificate it does not trust: 502, nothing served', async () => {
    const res = await fetch(`${untrusted.url}/functions/v1/echo`)
    expect(res.status).toBe(502)
    expect(res.headers.get('content-type')).toContain('application/problem+json')
    expect(((await res.json()) as { code: string }).code).toBe('upstream-unavailable')
  })
})
