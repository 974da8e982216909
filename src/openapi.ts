import { z } from 'zod'
import type { ApiHeader, ApiOperation, RouteDef } from './route-table.js'

/**
 * The OpenAPI 3.1 document (`/openapi.json`), generated from the route table and the zod
 * schemas the native handlers validate with (`RouteSpec.api`): request and response bodies,
 * every problem+json answer a route can give (from the problem catalogues), the headers its
 * policy reads or writes, and the legacy-only routes marked `x-legacy-only`.
 */

/** A problem catalogue entry, as the document needs it (`src/errors.ts`, `defineProblems`). */
export interface DocumentedProblem {
  readonly code: string
  readonly status: number
  readonly otherStatuses?: readonly number[]
  readonly title: string
  readonly type?: string
  readonly retryAfterSeconds?: number
}

/** A problem catalogue: the gateway's own (`gateway`) or a feature's (its folder name). */
export interface DocumentedProblemSet {
  readonly scope: string
  readonly entries: readonly DocumentedProblem[]
}

export interface OpenApiOptions {
  /** Every problem catalogue (`PROBLEM_SETS` in `routes/index.ts`). */
  problems?: readonly DocumentedProblemSet[]
  version?: string
}

const PROBLEM_TYPE_BASE = 'https://bff.dev/problems/'

/** The problems the pipeline in front of every routed request may answer with, by policy. */
function pipelineProblems(route: RouteDef, operation: ApiOperation | undefined): string[] {
  const p = route.policy
  const codes = [
    'invalid-function-path',
    'duplicate-authorization',
    'body-not-allowed',
    'ambiguous-framing',
    'body-timeout',
    'payload-too-large',
    'invalid-backend-override',
    'canary-token-required',
    'internal',
  ]
  if (route.methods !== '*') codes.push('method-not-allowed')
  if (p.auth === 'required' || p.auth === 'service') {
    codes.push('authentication-required', 'invalid-token', 'token-expired')
  }
  if (p.auth === 'service') codes.push('forbidden-role')
  if (p.strictOrigin) codes.push('origin-not-allowed')
  if (p.rateLimit) codes.push('rate-limited')
  if (p.rateLimit?.failMode === 'closed') codes.push('rate-limiter-unavailable')
  if (operation) {
    if (operation.body) codes.push('bad-request')
    if (operation.body || operation.query || operation.path?.includes(':')) {
      codes.push('validation-failed')
    }
    if (operation.headers?.includes('idempotency-key')) codes.push('validation-failed')
    codes.push('dependency-unavailable')
  }
  // The legacy function behind the route (always, or when a native attempt is replayed).
  codes.push('upstream-unavailable', 'upstream-timeout', 'legacy-function-busy')
  return codes
}

const HEADERS: Record<string, Record<string, unknown>> = {
  IdempotencyKey: {
    name: 'Idempotency-Key',
    in: 'header',
    required: false,
    description:
      'Makes a retry safe: the same key with the same body answers the first outcome again (1-300 printable ASCII characters).',
    schema: { type: 'string', minLength: 1, maxLength: 300 },
    example: 'order-7f3a2c-1',
  },
  ClientId: {
    name: 'X-Client-Id',
    in: 'header',
    required: false,
    description:
      'A stable id of an anonymous client, so the rollout keeps it on one backend (the JWT subject wins when present).',
    schema: { type: 'string', maxLength: 128 },
  },
  BackendOverride: {
    name: 'X-BFF-Backend',
    in: 'header',
    required: false,
    description:
      'Canary override: `native` or `legacy` for this request. Outside development it needs a signed `X-BFF-Canary` token (`npm run canary-token`).',
    schema: { type: 'string', enum: ['native', 'legacy'] },
  },
  Canary: {
    name: 'X-BFF-Canary',
    in: 'header',
    required: false,
    description: 'The signed canary token that authorises `X-BFF-Backend`.',
    schema: { type: 'string' },
  },
  Traceparent: {
    name: 'traceparent',
    in: 'header',
    required: false,
    description: 'W3C trace context; continued when present, started otherwise, and returned.',
    schema: { type: 'string', pattern: '^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$' },
  },
}

const RESPONSE_HEADERS: Record<string, Record<string, unknown>> = {
  RequestId: {
    description: 'The request id, also in the access log and in every problem (`requestId`).',
    schema: { type: 'string' },
  },
  Backend: {
    description: 'Which backend answered: `native`, `legacy` or `legacy-fallback`.',
    schema: { type: 'string', enum: ['native', 'legacy', 'legacy-fallback'] },
  },
  Traceparent: { description: 'W3C trace context of this request.', schema: { type: 'string' } },
  RateLimitLimit: { description: 'Requests allowed in the window.', schema: { type: 'integer' } },
  RateLimitRemaining: {
    description: 'Requests left in the window.',
    schema: { type: 'integer' },
  },
  RateLimitReset: {
    description: 'Seconds until the window resets.',
    schema: { type: 'integer' },
  },
  RetryAfter: { description: 'Seconds to wait before trying again.', schema: { type: 'integer' } },
  AiQuotaRemaining: {
    description: 'AI suggestions left today for this user.',
    schema: { type: 'integer' },
  },
  ETag: { description: 'The document version, for `If-None-Match`.', schema: { type: 'string' } },
}

const ref = (kind: string, name: string) => ({ $ref: `#/components/${kind}/${name}` })

const converted = new WeakMap<z.ZodType, Partial<Record<'input' | 'output', object>>>()

/** JSON Schema of a zod schema: what the handler accepts (`input`) or answers (`output`). */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const cached = converted.get(schema)?.[io]
  if (cached) return cached as Record<string, unknown>
  const out = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
  }) as Record<string, unknown>
  delete out.$schema
  converted.set(schema, { ...converted.get(schema), [io]: out })
  return out
}

/** `/users/:userId` → `/users/{userId}` and its parameter names. */
function openApiPath(path: string): { path: string; params: string[] } {
  const params: string[] = []
  const converted = path.replace(/:([A-Za-z0-9_]+)/g, (_, name: string) => {
    params.push(name)
    return `{${name}}`
  })
  return { path: converted, params }
}

/** Query parameters from a zod object schema (its JSON Schema's properties). */
function queryParameters(schema: z.ZodType): Record<string, unknown>[] {
  const json = jsonSchema(schema, 'input')
  const properties = (json.properties ?? {}) as Record<string, Record<string, unknown>>
  const required = new Set((json.required as string[] | undefined) ?? [])
  return Object.entries(properties).map(([name, property]) => ({
    name,
    in: 'query',
    required: required.has(name),
    schema: property,
    ...(typeof property.description === 'string' ? { description: property.description } : {}),
  }))
}

export function openApiDocument(routes: readonly RouteDef[], options: OpenApiOptions = {}) {
  const gateway = new Map<string, DocumentedProblem>()
  const byScope = new Map<string, DocumentedProblem[]>()
  for (const set of options.problems ?? []) {
    for (const entry of set.entries) {
      if (set.scope === 'gateway') gateway.set(entry.code, entry)
      byScope.set(set.scope, [...(byScope.get(set.scope) ?? []), entry])
    }
  }
  const usedProblems = new Map<string, DocumentedProblem>()
  /** One example per code and status, shared by every operation (`components.examples`). */
  const examples: Record<string, unknown> = {}
  const exampleRef = (p: DocumentedProblem, status: number) => {
    const name = status === p.status ? p.code : `${p.code}-${status}`
    examples[name] ??= {
      summary: p.title,
      value: {
        type: p.type ?? PROBLEM_TYPE_BASE + p.code,
        title: p.title,
        status,
        detail: p.title,
        code: p.code,
        requestId: '2f1c9a7e-4b8d-4c1e-9f0a-3d5b6c7e8f90',
      },
    }
    return ref('examples', name)
  }

  /** problem+json answers, one per status, each code an example. */
  function problemResponses(
    route: RouteDef,
    operation: ApiOperation | undefined,
  ): Record<string, unknown> {
    const found: DocumentedProblem[] = []
    const seen = new Set<string>()
    const add = (p: DocumentedProblem | undefined) => {
      if (!p || seen.has(`${p.code}:${p.status}`)) return
      seen.add(`${p.code}:${p.status}`)
      found.push(p)
    }
    for (const code of pipelineProblems(route, operation)) add(gateway.get(code))
    if (operation) {
      const own = byScope.get(route.feature) ?? []
      const wanted = operation.problems ? new Set(operation.problems) : undefined
      for (const p of own) if (!wanted || wanted.has(p.code)) add(p)
      for (const code of operation.problems ?? []) {
        if (!own.some((p) => p.code === code)) add(gateway.get(code))
      }
    }
    const byStatus = new Map<number, DocumentedProblem[]>()
    for (const p of found) {
      for (const status of [p.status, ...(p.otherStatuses ?? [])]) {
        byStatus.set(status, [...(byStatus.get(status) ?? []), p])
      }
      usedProblems.set(p.code, p)
    }
    const responses: Record<string, unknown> = {}
    for (const [status, problems] of [...byStatus].sort(([a], [b]) => a - b)) {
      responses[String(status)] = {
        description: problems.map((p) => `\`${p.code}\`: ${p.title}`).join('; '),
        ...(problems.some((p) => p.retryAfterSeconds) || status === 503 || status === 429
          ? { headers: { 'Retry-After': ref('headers', 'RetryAfter') } }
          : {}),
        content: {
          'application/problem+json': {
            schema: ref('schemas', 'Problem'),
            examples: Object.fromEntries(problems.map((p) => [p.code, exampleRef(p, status)])),
          },
        },
      }
    }
    return responses
  }

  function successHeaders(route: RouteDef, operation: ApiOperation | undefined) {
    const headers: Record<string, unknown> = {
      'X-Request-Id': ref('headers', 'RequestId'),
      'X-BFF-Backend': ref('headers', 'Backend'),
      traceparent: ref('headers', 'Traceparent'),
    }
    if (route.policy.rateLimit) {
      headers['RateLimit-Limit'] = ref('headers', 'RateLimitLimit')
      headers['RateLimit-Remaining'] = ref('headers', 'RateLimitRemaining')
      headers['RateLimit-Reset'] = ref('headers', 'RateLimitReset')
    }
    const extra: Partial<Record<ApiHeader, string>> = {
      'x-ai-quota-remaining': 'AiQuotaRemaining',
      'retry-after': 'RetryAfter',
      etag: 'ETag',
    }
    for (const h of operation?.headers ?? []) {
      const name = extra[h]
      if (name) headers[h === 'etag' ? 'ETag' : h] = ref('headers', name)
    }
    return headers
  }

  function operationObject(
    route: RouteDef,
    method: string,
    operation: ApiOperation | undefined,
    path: string,
    params: string[],
    alias: boolean,
  ) {
    const legacyOnly = route.stayLegacy || !route.api
    const parameters: unknown[] = [
      ...params.map((name) => ({
        name,
        in: 'path',
        required: true,
        schema: { type: 'string' },
      })),
      ...(operation?.query ? queryParameters(operation.query) : []),
      ...(operation?.headers?.includes('idempotency-key')
        ? [ref('parameters', 'IdempotencyKey')]
        : []),
      ref('parameters', 'ClientId'),
      ref('parameters', 'BackendOverride'),
      ref('parameters', 'Canary'),
      ref('parameters', 'Traceparent'),
    ]
    const status = String(operation?.status ?? 200)
    const success = operation?.produces
      ? Object.fromEntries(
          operation.produces.map((type) => [
            type,
            { schema: { type: 'string', format: 'binary' } },
          ]),
        )
      : {
          'application/json': {
            schema: operation?.response
              ? jsonSchema(operation.response, 'output')
              : { type: 'object', additionalProperties: true },
            ...(operation?.example?.response !== undefined
              ? { example: operation.example.response }
              : {}),
          },
        }
    const responses: Record<string, unknown> = {
      [status]: {
        description: legacyOnly
          ? "The legacy function's answer, relayed unchanged"
          : (operation?.summary ?? route.summary),
        headers: successHeaders(route, operation),
        content: success,
      },
    }
    for (const other of operation?.otherStatuses ?? []) {
      responses[String(other)] = {
        description: other === 202 ? 'Accepted, not finished yet' : 'Also answered',
        headers: successHeaders(route, operation),
        content: success,
      }
    }
    Object.assign(responses, problemResponses(route, operation))
    const suffix = operation?.path ?? ''
    const id = `${route.id}${suffix}${alias ? `-via-${path.split('/').slice(3).join('-')}` : ''}-${method}`
    return {
      operationId: id.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/-+/g, '-'),
      summary: operation?.summary ?? route.summary,
      description: [
        legacyOnly
          ? route.stayLegacy
            ? 'Stays on the legacy Edge Function: the gateway proxies it unchanged, and its body is the function’s own contract.'
            : 'Not native yet: the gateway proxies it to the legacy Edge Function unchanged; its body is the function’s own contract.'
          : 'Native in the gateway (or proxied to the legacy function, per the rollout flags), same contract either way.',
        `Route \`${route.id}\`, phase ${route.phase}; auth \`${route.policy.auth}\`; body at most ${route.policy.bodyLimitBytes} bytes; a failed native attempt is replayed to legacy: \`${route.policy.replay}\`.`,
      ].join('\n\n'),
      tags: [route.feature || 'unlisted'],
      security:
        route.policy.auth === 'none'
          ? []
          : route.policy.auth === 'optional'
            ? [{}, { bearer: [] }]
            : [{ bearer: [] }],
      parameters,
      ...(operation?.body
        ? {
            requestBody: {
              required: true,
              content: {
                'application/json': {
                  schema: jsonSchema(operation.body, 'input'),
                  ...(operation.example?.body !== undefined
                    ? { example: operation.example.body }
                    : {}),
                },
              },
            },
          }
        : {}),
      responses,
      ...(legacyOnly ? { 'x-legacy-only': true } : {}),
      'x-bff-policy': {
        phase: route.phase,
        auth: route.policy.auth,
        rateLimit: route.policy.rateLimit,
        bodyLimitBytes: route.policy.bodyLimitBytes,
        replay: route.policy.replay,
        strictOrigin: route.policy.strictOrigin,
        readOnly: route.policy.readOnly,
      },
    }
  }

  const paths: Record<string, Record<string, unknown>> = {}
  for (const route of routes) {
    const bases = [`/functions/v1/${route.id}`, ...route.aliases]
    const operations: Array<{ method: string; op: ApiOperation | undefined }> = route.api
      ? route.api.map((op) => ({ method: op.method.toLowerCase(), op }))
      : (route.methods === '*' ? ['POST'] : route.methods).map((m) => ({
          method: m.toLowerCase(),
          op: undefined,
        }))
    for (const [i, base] of bases.entries()) {
      for (const { method, op } of operations) {
        const { path, params } = openApiPath(`${base}${op?.path ?? ''}`)
        paths[path] ??= {}
        ;(paths[path] as Record<string, unknown>)[method] = operationObject(
          route,
          method,
          op,
          path,
          params,
          i > 0,
        )
      }
    }
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'BFF gateway',
      version: options.version ?? '0.1.0',
      description:
        'The gateway in front of the Supabase Edge Functions. Native routes are described with the schemas the gateway validates with; routes marked `x-legacy-only` are proxied unchanged. Any other `/functions/v1/<name>` is proxied to the legacy function as is. Every error the gateway itself produces is `application/problem+json` (RFC 9457) with a stable `code`.',
      license: { name: 'Proprietary', identifier: 'LicenseRef-Proprietary' },
    },
    servers: [{ url: '/', description: 'This gateway' }],
    tags: [...new Set(routes.map((r) => r.feature || 'unlisted'))].map((name) => ({
      name,
      description: `Routes of the ${name} feature (routes/${name}/)`,
    })),
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'A Supabase access token (or the service-role key for `service` routes).',
        },
      },
      parameters: HEADERS,
      headers: RESPONSE_HEADERS,
      examples,
      schemas: {
        FieldProblem: {
          type: 'object',
          required: ['field', 'message'],
          properties: {
            field: {
              type: 'string',
              description:
                'The field at fault: `items.0.quantity`, `query:limit`, `param:userId`, `header:idempotency-key`, `(body)`.',
            },
            message: { type: 'string' },
          },
        },
        Problem: {
          type: 'object',
          description: 'RFC 9457 problem details, with the gateway’s stable `code`.',
          required: ['type', 'title', 'status', 'detail', 'code', 'requestId'],
          properties: {
            type: { type: 'string', format: 'uri' },
            title: { type: 'string' },
            status: { type: 'integer' },
            detail: { type: 'string' },
            code: {
              type: 'string',
              ...(usedProblems.size > 0 ? { enum: [...usedProblems.keys()].sort() } : {}),
            },
            requestId: { type: 'string' },
            errors: { type: 'array', items: ref('schemas', 'FieldProblem') },
          },
          additionalProperties: true,
        },
      },
    },
    paths,
  }
}
