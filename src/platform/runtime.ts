import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Context } from 'hono'

/**
 * The platform adapter: everything the gateway asks of the runtime under a request, in one
 * place. On Node (@hono/node-server) `c.env` carries the Node request and response; on
 * Workers it carries the worker's vars and secrets and the request is a plain `Request`.
 *
 * - the client's socket address (`socketAddress`);
 * - the raw request headers (`nodeRequest`, read by `request-headers.ts`);
 * - the body source: the Node socket or the web stream (`nodeRequest`, `c.req.raw.body`);
 * - work that outlives the response (`waitUntil`).
 */

/** What @hono/node-server passes as `c.env`. */
export interface NodeBindings {
  incoming: IncomingMessage
  outgoing: ServerResponse
}

/** `c.env`: the Node bindings, or on Workers the worker's vars and secrets. */
export type Bindings = Partial<NodeBindings> & { readonly [name: string]: unknown }

type AnyContext = Context<{ Bindings: Bindings }> | Context

const bindings = (c: AnyContext) => c.env as Bindings | undefined

/** The Node request when @hono/node-server serves this one; undefined on Workers and in `app.request`. */
export function nodeRequest(c: AnyContext): IncomingMessage | undefined {
  return bindings(c)?.incoming
}

/** The Node request and response, when the response may be written to the socket directly. */
export function nodeExchange(c: AnyContext): NodeBindings | undefined {
  const env = bindings(c)
  return env?.incoming && env.outgoing
    ? { incoming: env.incoming, outgoing: env.outgoing }
    : undefined
}

/**
 * The peer address of the connection: the Node socket's, or on Workers `CF-Connecting-IP`,
 * which only Cloudflare's edge sets (the `cf` object exists only on requests that came through it).
 */
export function socketAddress(c: AnyContext): string | undefined {
  const incoming = nodeRequest(c)
  if (incoming) return incoming.socket?.remoteAddress
  if ((c.req.raw as { cf?: unknown }).cf)
    return c.req.raw.headers.get('cf-connecting-ip') ?? undefined
  return undefined
}

/** Keep `work` running after the response: the Workers execution context, else the event loop. */
export function waitUntil(c: AnyContext, work: Promise<unknown>): void {
  let ctx: { waitUntil(p: Promise<unknown>): void } | undefined
  try {
    ctx = c.executionCtx
  } catch {
    ctx = undefined // Node and `app.request`: no execution context, the process stays up.
  }
  const settled = work.catch(() => {})
  ctx?.waitUntil(settled)
}

export interface ProcessMemory {
  rss: number
  heapTotal: number
  heapUsed: number
  external: number
}

/**
 * The process's memory in bytes (Node's `process.memoryUsage()`); undefined where the runtime
 * has no such figure (Workers).
 */
export function processMemory(): ProcessMemory | undefined {
  const proc = (globalThis as { process?: { memoryUsage?: () => ProcessMemory } }).process
  if (typeof proc?.memoryUsage !== 'function') return undefined
  try {
    const { rss, heapTotal, heapUsed, external } = proc.memoryUsage()
    return rss > 0 ? { rss, heapTotal, heapUsed, external } : undefined
  } catch {
    return undefined
  }
}

/** `processMemory()` as Prometheus text (the names prom-client uses), or '' without it. */
export function processMemoryMetrics(): string {
  const m = processMemory()
  if (!m) return ''
  const gauge = (name: string, help: string, value: number) =>
    `# HELP ${name} ${help}\n# TYPE ${name} gauge\n${name} ${value}\n`
  return (
    gauge('process_resident_memory_bytes', 'Resident memory size in bytes', m.rss) +
    gauge('nodejs_heap_size_total_bytes', 'V8 heap size in bytes', m.heapTotal) +
    gauge('nodejs_heap_size_used_bytes', 'V8 heap used in bytes', m.heapUsed) +
    gauge('nodejs_external_memory_bytes', 'Memory of C++ objects bound to JS, in bytes', m.external)
  )
}
