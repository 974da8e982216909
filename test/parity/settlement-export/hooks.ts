import type { ParityHook } from '../../../scripts/parity/cases.js'
import { hooks as statement } from '../payout-statement/hooks.js'

export const hooks: Record<string, ParityHook> = statement
