import { fundingHooks } from '../funding-contract.js'

export const hooks = fundingHooks
