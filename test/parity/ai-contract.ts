/**
 * What both legacy AI functions share: validation first (400 for a body that is not JSON, 422
 * naming each field), then the signed-in user (403), one unit of the user's daily quota (429
 * when used up), then `{<items>, meta: {model, source}}` with `cache-control: no-store`.
 */
import type { z } from 'zod'
import {
  dbCode,
  fieldsOf,
  json,
  type LegacyEnv,
  problem,
  readJson,
  validationFailed,
} from './legacy-kit.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export async function suggestionContract<S extends z.ZodType>(
  req: Request,
  env: LegacyEnv,
  {
    schema,
    feature,
    answer,
  }: { schema: S; feature: string; answer: (input: z.output<S>) => Record<string, unknown> },
): Promise<Response> {
  const read = await readJson(req)
  if (!read.ok) return read.response
  const parsed = schema.safeParse(read.body)
  if (!parsed.success) return validationFailed(fieldsOf(parsed.error.issues))
  const user = await env.user(req)
  if (!user?.sub || !UUID.test(user.sub)) {
    return problem(403, 'ai-user-required', 'A signed-in user is required')
  }
  let remaining: number
  try {
    remaining = Number(
      await env.db.call('ai_quota_consume', {
        p_user_id: user.sub.toLowerCase(),
        p_feature: feature,
        p_cost: 1,
      }),
    )
  } catch (error) {
    if (dbCode(error)?.code === 'quota-exhausted') {
      return problem(429, 'ai-quota-exhausted', 'AI suggestion quota used up')
    }
    throw error
  }
  return json({ ...answer(parsed.data), meta: { model: 'legacy-model', source: 'ai' } }, 200, {
    'cache-control': 'no-store',
    'x-ai-quota-remaining': String(remaining),
  })
}
