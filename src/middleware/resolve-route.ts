import { createMiddleware } from 'hono/factory'
import { FUNCTION_NAME } from '../platform/function-name.js'
import { invalidFunctionPath, methodNotAllowed, notFound } from '../problems.js'
import { type RouteDef, unknownRoute } from '../route-table.js'
import type { AppEnv, RouteMatch } from '../types.js'

export const FUNCTIONS_PREFIX = '/functions/v1/'
export const API_PREFIX = '/api/v1/'

export interface RouteResolver {
  /** Resolve a path (as received, not decoded) to a route, or undefined when nothing matches. */
  resolve(path: string): RouteMatch | undefined
}

/**
 * Precomputed lookups from the route table: function name → route, alias → route. The
 * aliases are matched exactly or as a prefix followed by `/`.
 */
export function createRouteResolver(
  routes: readonly RouteDef[],
  unknownBodyLimit: number,
): RouteResolver {
  const byId = new Map(routes.map((r) => [r.id, r]))
  const byAlias = new Map<string, RouteDef>()
  for (const r of routes) for (const a of r.aliases) byAlias.set(a, r)
  const unknown = new Map<string, RouteDef>()
  const unknownDef = (name: string) => {
    let def = unknown.get(name)
    if (!def) {
      def = unknownRoute(name, unknownBodyLimit)
      // Names are validated first; the cap only bounds memory against name scanning.
      if (unknown.size < 1_000) unknown.set(name, def)
    }
    return def
  }

  return {
    resolve(path) {
      if (path.startsWith(FUNCTIONS_PREFIX)) {
        const tail = path.slice(FUNCTIONS_PREFIX.length)
        const slash = tail.indexOf('/')
        const name = slash === -1 ? tail : tail.slice(0, slash)
        const rest = slash === -1 ? '' : tail.slice(slash + 1)
        if (!FUNCTION_NAME.test(name)) {
          throw invalidFunctionPath('Function names are [a-z0-9_-], 1 to 64 characters')
        }
        const def = byId.get(name)
        return def
          ? { def, name, rest, unknown: false }
          : { def: unknownDef(name), name, rest, unknown: true }
      }
      if (path.startsWith(API_PREFIX)) {
        let probe = path.endsWith('/') ? path.slice(0, -1) : path
        let rest = ''
        while (probe.length > API_PREFIX.length - 1) {
          const def = byAlias.get(probe)
          if (def) return { def, name: def.id, rest, unknown: false }
          const cut = probe.lastIndexOf('/')
          rest = rest ? `${probe.slice(cut + 1)}/${rest}` : probe.slice(cut + 1)
          probe = probe.slice(0, cut)
        }
      }
      return undefined
    },
  }
}

/**
 * The path exactly as the client encoded it (dot segments already resolved by URL parsing):
 * Hono's `c.req.path` is percent-decoded, and the legacy target must get what the client sent.
 */
export function rawPath(url: string): string {
  const start = url.indexOf('/', url.indexOf('//') + 2)
  if (start === -1) return '/'
  const q = url.indexOf('?', start)
  return q === -1 ? url.slice(start) : url.slice(start, q)
}

/** Sets `c.var.route` and enforces the route's methods (OPTIONS is CORS's, answered earlier). */
export function resolveRoute(resolver: RouteResolver) {
  return createMiddleware<AppEnv>(function resolveRoute(c, next) {
    const match = resolver.resolve(rawPath(c.req.url))
    if (!match) throw notFound(`No function or API route at ${c.req.path.slice(0, 200)}`)
    c.set('route', match)
    const { methods } = match.def
    const method = c.req.method
    const allowed =
      methods === '*' || methods.includes(method) || (method === 'HEAD' && methods.includes('GET'))
    if (!allowed) throw methodNotAllowed(methods as readonly string[])
    return next()
  })
}
