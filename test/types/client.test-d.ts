import { hc } from 'hono/client'
import type { AppType } from '../../routes/index.js'

// Compiled by `npm run typecheck` (tsc), never run: a route whose request type breaks makes
// a call below fail to compile, or an expected error stop happening.

const bff = hc<AppType>('/api/bff')

export async function typedCalls() {
  // A native route, by its function path and by its REST alias: body and answer typed.
  const res = await bff.functions.v1['payment-checkout'].$post({
    json: { items: [{ productId: 'membership-basic', quantity: 1 }] },
    header: { 'idempotency-key': 'order-1' },
  })
  if (res.ok) {
    const order = await res.json()
    const amount: number = order.amount
    const currency: 'KRW' = order.currency
    void amount
    void currency
  }
  await bff.api.v1.checkout.$post({ json: { items: [{ productId: 'p1', quantity: 2 }] } })

  // @ts-expect-error quantity is a number
  await bff.api.v1.checkout.$post({ json: { items: [{ productId: 'p1', quantity: '2' }] } })
  // @ts-expect-error items is required
  await bff.api.v1.checkout.$post({ json: {} })
  // @ts-expect-error checkout is POST only
  await bff.api.v1.checkout.$get()

  await bff.api.v1.refunds.$post({
    json: { paymentKey: 'pk', cancelReason: 'changed mind', cancelAmount: 1000 },
  })
  // @ts-expect-error cancelReason is required
  await bff.api.v1.refunds.$post({ json: { paymentKey: 'pk' } })

  const ai = await bff.api.v1.ai['reply-suggest'].$post({ json: { message: 'hi', count: 2 } })
  if (ai.ok) {
    const { suggestions, meta } = await ai.json()
    const first: string | undefined = suggestions[0]
    const source: 'ai' | 'template' = meta.source
    void first
    void source
  }

  // A discriminated body: each action its own members.
  const calculate = bff.functions.v1['payout-calculate'].$post
  await calculate({ json: { action: 'mark-paid', settlementId: '00000000-0000-4000-8000-0000' } })
  // @ts-expect-error mark-paid takes a settlementId, not a period
  await calculate({ json: { action: 'mark-paid', period: '2026-11' } })

  // Sub-resources with path parameters and a query.
  await bff.functions.v1['ops-manage'].users[':userId'][':section'].$get({
    param: { userId: 'u', section: 'payments' },
    query: { limit: '20' },
  })
  await bff.functions.v1['ops-manage'].creators[':creatorId']['payout-hold'].$post({
    param: { creatorId: 'c' },
    json: { reason: 'chargeback review' },
  })

  // A legacy-only route: proxied as is, so its body is the function's own contract.
  await bff.functions.v1['payment-confirm'].$post({ json: { anything: true } })
}
