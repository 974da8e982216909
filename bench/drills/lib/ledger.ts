import type { TossFake } from '../../../test/fakes/toss.js'
import type { Invariant } from './report.js'
import type { Stage } from './stage.js'

/**
 * The money check after a drill: the database's payments and refunds against the Toss
 * stand-in's ledger (the cancels it applied). Nothing may be half-applied:
 * - a payment's balance is its total minus its `done` refunds (the row agrees with its refunds);
 * - every `done` refund names a cancel Toss applied to that payment;
 * - every cancel Toss applied is a `done` refund, or a `pending` one whose cancel went through
 *   (its answer lost with the database; the refund-retry job or the client's repeat settles it).
 */
export interface LedgerResult {
  invariants: Invariant[]
  figures: Record<string, number>
}

interface RefundRow {
  id: string
  payment_key: string
  amount: number
  status: string
  toss_transaction_key: string | null
  idempotency_key: string
}

export async function checkLedger(
  stage: Pick<Stage, 'sql' | 'users'>,
  toss: TossFake,
): Promise<LedgerResult> {
  const keys = stage.users.map((u) => u.paymentKey)
  const payments = await stage.sql<{
    payment_key: string
    total_amount: number
    balance_amount: number
  }>(
    'select payment_key, total_amount, balance_amount from public.payments where payment_key = any($1)',
    [keys],
  )
  const refunds = await stage.sql<RefundRow>(
    `select id, payment_key, amount, status, toss_transaction_key, idempotency_key
       from public.refunds where payment_key = any($1)`,
    [keys],
  )
  let rowMismatch = 0
  let doneWithoutCancel = 0
  let unexplained = 0
  let pendingApplied = 0
  let tossCancels = 0
  for (const p of payments) {
    const mine = refunds.filter((r) => r.payment_key === p.payment_key)
    const done = mine.filter((r) => r.status === 'done')
    const doneSum = done.reduce((s, r) => s + r.amount, 0)
    if (p.balance_amount !== p.total_amount - doneSum) rowMismatch++
    const cancels = toss.payment(p.payment_key)?.cancels ?? []
    tossCancels += cancels.length
    const cancelKeys = new Set(cancels.map((c) => c.transactionKey))
    for (const r of done)
      if (!r.toss_transaction_key || !cancelKeys.has(r.toss_transaction_key)) doneWithoutCancel++
    const doneKeys = new Set(done.map((r) => r.toss_transaction_key))
    const pendingKeys = new Set<string>()
    for (const r of mine.filter((x) => x.status === 'pending')) {
      const applied = toss.transactionFor(r.idempotency_key)
      if (applied) {
        pendingKeys.add(applied)
        pendingApplied++
      }
    }
    for (const c of cancels)
      if (!doneKeys.has(c.transactionKey) && !pendingKeys.has(c.transactionKey)) unexplained++
  }
  return {
    figures: {
      'payments checked': payments.length,
      'refund rows': refunds.length,
      'refunds done': refunds.filter((r) => r.status === 'done').length,
      'refunds pending': refunds.filter((r) => r.status === 'pending').length,
      'refunds pending with the cancel applied at Toss': pendingApplied,
      'cancels applied at Toss': tossCancels,
    },
    invariants: [
      {
        name: 'every payment balance = total - its done refunds',
        ok: rowMismatch === 0 && payments.length === keys.length,
        detail: `${rowMismatch} mismatched of ${payments.length}`,
      },
      {
        name: 'every done refund names a cancel Toss applied',
        ok: doneWithoutCancel === 0,
        detail: `${doneWithoutCancel} without`,
      },
      {
        name: 'every Toss cancel is a done refund or a pending one awaiting settlement',
        ok: unexplained === 0,
        detail: `${unexplained} cancels at Toss with no refund row`,
      },
    ],
  }
}
