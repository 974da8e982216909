import type { RouteDef } from './route-table.js'

/**
 * An OpenAPI 3.1 outline generated from the route table: every function path and alias, its
 * methods, auth and limits. Request schemas live with the native routes.
 */
export function openApiDocument(routes: readonly RouteDef[]) {
  const paths: Record<string, Record<string, unknown>> = {}
  for (const r of routes) {
    const methods = r.methods === '*' ? ['post'] : r.methods.map((m) => m.toLowerCase())
    const operation = (path: string) =>
      Object.fromEntries(
        methods.map((m) => [
          m,
          {
            operationId: `${r.id}${path.startsWith('/api') ? '-alias' : ''}-${m}`,
            summary: r.summary,
            tags: [r.phase === 'stay-legacy' ? 'stay-legacy' : `phase-${r.phase}`],
            security: r.policy.auth === 'none' ? [] : [{ bearer: [] }],
            'x-bff-policy': {
              auth: r.policy.auth,
              rateLimit: r.policy.rateLimit,
              bodyLimitBytes: r.policy.bodyLimitBytes,
              replay: r.policy.replay,
              strictOrigin: r.policy.strictOrigin,
            },
            responses: {
              default: {
                description:
                  'The function response (native or legacy); gateway errors are application/problem+json',
              },
            },
          },
        ]),
      )
    paths[`/functions/v1/${r.id}`] = operation(`/functions/v1/${r.id}`)
    for (const alias of r.aliases) paths[alias] = operation(alias)
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'BFF gateway',
      version: '0.1.0',
      description:
        'Routes of the gateway. Any other /functions/v1/<name> is proxied to the legacy function unchanged.',
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
    },
    paths,
  }
}
