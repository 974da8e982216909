import { serve } from '@hono/node-server'
import { Hono } from 'hono'

/** The native-route baseline: one Hono route answering small JSON on @hono/node-server. */

const port = Number(process.env.PORT ?? 0)
const app = new Hono()
app.get('/functions/v1/:name', (c) => c.json({ ok: true }))
app.get('/health', (c) => c.json({ status: 'ok' }))
serve({ fetch: app.fetch, port, hostname: '127.0.0.1', overrideGlobalObjects: false })
