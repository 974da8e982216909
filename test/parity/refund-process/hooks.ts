import type { ParityHook } from '../../../scripts/parity/cases.js'
import { paidPayment } from '../payment-webhook/hooks.js'

export const hooks: Record<string, ParityHook> = { paidPayment }
