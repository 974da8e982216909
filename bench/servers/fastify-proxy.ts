import proxy from '@fastify/http-proxy'
import Fastify from 'fastify'

/**
 * The peer baseline: `@fastify/http-proxy` (undici to the upstream) with Fastify's default
 * pino logger at `info`, default options otherwise: what a Node team would pick instead of the
 * gateway. Fastify logs two lines per request at `info` ("incoming request", "request
 * completed") to stdout, which the benchmark sends where the gateway's goes (/dev/null).
 */

const port = Number(process.env.PORT ?? 0)
const upstream = (process.env.UPSTREAM_URL ?? 'http://127.0.0.1:8788').replace(/\/$/, '')

const app = Fastify({ logger: { level: process.env.LOG_LEVEL ?? 'info' } })
await app.register(proxy, { upstream })
await app.listen({ port, host: '127.0.0.1' })
