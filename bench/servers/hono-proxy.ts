import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { proxy } from 'hono/proxy'

/** The other baseline: Hono's documented `proxy()` helper over Node's `fetch` (undici). */

const port = Number(process.env.PORT ?? 0)
const upstream = (process.env.UPSTREAM_URL ?? 'http://127.0.0.1:8788').replace(/\/$/, '')

const app = new Hono()
app.all('*', (c) => {
  const url = c.req.url
  const path = url.slice(url.indexOf('/', url.indexOf('//') + 2))
  return proxy(`${upstream}${path}`, {
    ...c.req,
    headers: {
      ...c.req.header(),
      'x-forwarded-for': '127.0.0.1',
      'x-forwarded-host': c.req.header('host'),
    },
  })
})

serve({ fetch: app.fetch, port, hostname: '127.0.0.1' })
